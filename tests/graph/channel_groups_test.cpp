// Channel groups of every zoo model are the expected ones: residual, depthwise and
// flatten coupling, fixed input/output groups, minimum widths.
#include <gtest/gtest.h>

#include "common/expect_error.h"
#include "graph/channel_groups.h"
#include "graph/zoo.h"

namespace mcuprune {
namespace {

using test::Contains;

Graph zoo(const std::string& name, Shape in = {32, 32, 3}, int classes = 10) {
  ZooOptions o;
  o.input = in;
  o.classes = classes;
  return zoo_build(name, o);
}

// The group holding node `name`'s output (its first segment).
const ChannelGroup& group_of(const Graph& g, const ChannelGroups& cg, const std::string& name) {
  int node = g.find(name);
  EXPECT_GE(node, 0) << name;
  return cg.groups[size_t(cg.layout[size_t(node)].segments.at(0).group)];
}

std::vector<std::string> names(const Graph& g, const std::vector<int>& nodes) {
  std::vector<std::string> r;
  for (int n : nodes) r.push_back(g.nodes[size_t(n)].name);
  return r;
}

TEST(ChannelGroups, Resnet8TiesResidualsAndShortcuts) {
  Graph g = zoo("resnet8");
  ChannelGroups cg = find_channel_groups(g);
  // input, conv1+stack1 residual, stack1_conv1, stack2_conv1, stack2 residual (conv2 +
  // shortcut), stack3_conv1, stack3 residual, logits.
  ASSERT_EQ(cg.groups.size(), 8u);
  EXPECT_EQ(cg.prunable_count(), 6);
  const ChannelGroup& s1 = group_of(g, cg, "conv1");
  EXPECT_EQ(names(g, s1.producers), (std::vector<std::string>{"conv1", "stack1_conv2"}));
  EXPECT_EQ(names(g, s1.consumers),
            (std::vector<std::string>{"stack1_conv1", "stack2_conv1", "stack2_shortcut"}));
  EXPECT_EQ(group_of(g, cg, "stack2_shortcut").id, group_of(g, cg, "stack2_conv2").id);
  EXPECT_EQ(group_of(g, cg, "stack2_relu").id, group_of(g, cg, "stack2_conv2").id);
  EXPECT_EQ(group_of(g, cg, "stack3_shortcut").id, group_of(g, cg, "stack3_relu").id);
  EXPECT_NE(group_of(g, cg, "stack3_conv1").id, group_of(g, cg, "stack3_conv2").id);
  EXPECT_FALSE(group_of(g, cg, "input").prunable);
  EXPECT_TRUE(Contains(group_of(g, cg, "input").reason, "model input"));
  EXPECT_FALSE(group_of(g, cg, "logits").prunable);
  EXPECT_TRUE(Contains(group_of(g, cg, "logits").reason, "model output"));
}

TEST(ChannelGroups, DscnnTiesDepthwiseToItsProducer) {
  Graph g = zoo("dscnn", {49, 10, 1}, 12);
  ChannelGroups cg = find_channel_groups(g);
  ASSERT_EQ(cg.groups.size(), 7u);  // input, conv1(+ds1_dw), ds1..ds4 pw, logits
  EXPECT_EQ(cg.prunable_count(), 5);
  EXPECT_EQ(group_of(g, cg, "ds1_dw").id, group_of(g, cg, "conv1").id);
  EXPECT_EQ(group_of(g, cg, "ds2_dw").id, group_of(g, cg, "ds1_pw").id);
  // The last pointwise group reaches the dense through the global pool and flatten.
  EXPECT_EQ(names(g, group_of(g, cg, "ds4_pw").consumers), (std::vector<std::string>{"logits"}));
}

TEST(ChannelGroups, MobilenetV2TiesEveryResidualStage) {
  Graph g = zoo("mobilenetv2");
  ChannelGroups cg = find_channel_groups(g);
  // The 32-channel stage (x0.35 -> 16 ch) is blocks 4-6: block4 changes the shape (no
  // add), blocks 5 and 6 add their input, so all three project outputs are one group.
  const ChannelGroup& st = group_of(g, cg, "block5_project");
  EXPECT_EQ(st.id, group_of(g, cg, "block6_project").id);
  EXPECT_EQ(st.id, group_of(g, cg, "block4_project").id);  // block5's residual input
  EXPECT_NE(st.id, group_of(g, cg, "block7_project").id);  // next stage: 64 ch x 0.35
  EXPECT_EQ(names(g, st.producers),
            (std::vector<std::string>{"block4_project", "block5_project", "block6_project"}));
  // Expand conv and its depthwise share a group consumed only by the project conv.
  EXPECT_EQ(group_of(g, cg, "block5_expand").id, group_of(g, cg, "block5_dw").id);
  EXPECT_EQ(names(g, group_of(g, cg, "block5_dw").consumers), (std::vector<std::string>{"block5_project"}));
  // 17 blocks: 1 + 16 expands, 7 stage groups, stem, head; + input + logits.
  EXPECT_EQ(cg.groups.size(), size_t(16 + 7 + 1 + 1 + 2));
}

TEST(ChannelGroups, FlattenIntoDenseAndVgg) {
  Graph t = zoo("tinycnn", {28, 28, 1});
  ChannelGroups ct = find_channel_groups(t);
  const ChannelLayout& flat = ct.layout[size_t(t.find("flatten"))];
  EXPECT_EQ(flat.channels, 24);
  EXPECT_EQ(flat.repeat, 7 * 7);
  EXPECT_EQ(names(t, group_of(t, ct, "conv2").consumers), (std::vector<std::string>{"logits"}));
  Graph v = zoo("vgg");
  ChannelGroups cv = find_channel_groups(v);
  // 13 convs + 2 hidden dense, each its own prunable group; input and logits fixed.
  EXPECT_EQ(cv.groups.size(), 17u);
  EXPECT_EQ(cv.prunable_count(), 15);
}

TEST(ChannelGroups, DesignedBottlenecksAreTheGroupsNarrowerThanTheirNeighbours) {
  // MobileNetV2's block outputs (the linear bottlenecks: every group made by *_project
  // convs) are narrower than the expansion before and after them; nothing else is (the stem
  // reads the 3-channel image, the head writes 1280 from 112 but then reads 112).
  Graph g = zoo("mobilenetv2");
  ChannelGroups cg = find_channel_groups(g);
  std::vector<int> want;
  for (const ChannelGroup& grp : cg.groups) {
    bool project = grp.prunable && !grp.producers.empty();
    for (const std::string& n : names(g, grp.producers)) project = project && Contains(n, "_project");
    if (project) want.push_back(grp.id);
  }
  EXPECT_EQ(want.size(), 7u);  // one per stage
  EXPECT_EQ(designed_bottlenecks(g, cg), want);
  // Widths that only fall (vgg, resnet8, dscnn, tinycnn) have none.
  for (const auto& [name, in] : std::vector<std::pair<std::string, Shape>>{
           {"vgg", {32, 32, 3}}, {"resnet8", {32, 32, 3}}, {"dscnn", {49, 10, 1}}, {"tinycnn", {28, 28, 1}}}) {
    Graph m = zoo(name, in, 10);
    EXPECT_TRUE(designed_bottlenecks(m, find_channel_groups(m)).empty()) << name;
  }
  // A group as wide as a neighbour is not one: 8 -> 4 -> 8 is, 8 -> 4 -> 4 is not.
  for (int after : {8, 4}) {
    GraphBuilder b("hourglass", {8, 8, 1});
    int x = b.conv(b.input(), 8, 3, 1, Padding::Same, "wide");
    x = b.conv(x, 4, 1, 1, Padding::Same, "narrow");
    x = b.conv(x, after, 1, 1, Padding::Same, "after");
    x = b.flatten(b.global_avgpool(x, "gap"), "flat");
    b.dense(x, 3, "logits");
    Graph h = b.finish();
    ChannelGroups ch = find_channel_groups(h);
    const std::vector<int> found = designed_bottlenecks(h, ch);
    if (after == 8)
      EXPECT_EQ(found, std::vector<int>{group_of(h, ch, "narrow").id});
    else
      EXPECT_TRUE(found.empty());
  }
}

TEST(ChannelGroups, MinimumWidthAndRounding) {
  Graph g = zoo("resnet8");
  ChannelGroups a = find_channel_groups(g, 3, 4);
  EXPECT_EQ(group_of(g, a, "conv1").min_channels, 4);   // 3 rounded up to a multiple of 4
  ChannelGroups b = find_channel_groups(g, 100, 1);
  EXPECT_EQ(group_of(g, b, "conv1").min_channels, 16);  // never above the width
  EXPECT_TRUE(Contains(test::user_error_of([&] { find_channel_groups(g, 1, 0); }), "--round-to"));
}

TEST(ChannelGroups, DepthwiseMultiplierFixesItsGroups) {
  GraphBuilder b("m", {8, 8, 2});
  int c = b.conv(b.input(), 4, 3, 1, Padding::Same, "c");
  Node dw;
  dw.kind = OpKind::DepthwiseConv2D;
  dw.name = "dw";
  dw.inputs = {c};
  dw.kernel_h = dw.kernel_w = 3;
  dw.padding = Padding::Same;
  dw.depth_multiplier = 2;
  int d = b.append(dw);
  b.dense(b.flatten(b.conv(d, 3, 1, 1, Padding::Same, "e"), "f"), 2, "logits");
  Graph g = b.finish();
  ChannelGroups cg = find_channel_groups(g);
  EXPECT_FALSE(group_of(g, cg, "c").prunable);
  EXPECT_FALSE(group_of(g, cg, "dw").prunable);
  EXPECT_TRUE(group_of(g, cg, "e").prunable);
}

}  // namespace
}  // namespace mcuprune
