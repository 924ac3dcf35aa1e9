// Surgery is exact: a network physically pruned by prune_group gives the same outputs as
// the unpruned network with those channels masked to zero, on every zoo model and on a
// graph with concat, residual, depthwise and flatten->dense coupling.
#include <gtest/gtest.h>

#include <random>

#include "graph/channel_groups.h"
#include "graph/zoo.h"
#include "nn/net.h"

namespace mcuprune {
namespace {

// Zeroes channel k of `group` wherever a node produces it: conv/dense/depthwise output rows
// and biases, BatchNorm gamma and beta. Every other member passes zeros through, so the
// channel is zero in every tensor of the group.
void mask_channel(const Graph& g, const ChannelGroups& cg, int group, int k, WeightMap& w) {
  for (int node : cg.groups[size_t(group)].members) {
    const Node& n = g.nodes[size_t(node)];
    const ChannelLayout& l = cg.layout[size_t(node)];
    std::vector<std::string> params;
    if (n.kind == OpKind::Conv2D || n.kind == OpKind::Dense || n.kind == OpKind::DepthwiseConv2D)
      params = {"weight", "bias"};
    else if (n.kind == OpKind::BatchNorm)
      params = {"gamma", "beta"};
    for (const ChannelSegment& s : l.segments) {
      if (s.group != group) continue;
      for (const std::string& p : params) {
        auto it = w.find(n.name + "." + p);
        if (it == w.end()) continue;
        WeightTensor& t = it->second;
        int64_t inner = t.numel() / t.shape[0];
        std::fill(t.data.begin() + (s.offset + k) * inner, t.data.begin() + (s.offset + k + 1) * inner, 0.0f);
      }
    }
  }
}

torch::Tensor run(const Graph& g, const WeightMap& w, const torch::Tensor& x) {
  Net net(g);
  net->load_weight_map(w, "test");
  net->eval();
  torch::NoGradGuard ng;
  return net->forward(x);
}

// Prunes a random subset of every prunable group; compares with masking.
void check_equivalence(const Graph& g0, uint64_t seed, const std::string& what) {
  torch::manual_seed(int64_t(seed));
  Net net0(g0);
  WeightMap w0 = net0->weight_map();
  std::mt19937_64 rng(seed);
  // Non-trivial BatchNorm statistics, so that masking and pruning are really exercised.
  for (auto& [name, t] : w0) {
    if (name.size() > 12 && name.compare(name.size() - 12, 12, "running_mean") == 0)
      for (float& v : t.data) v = float(int(rng() % 200) - 100) / 200.0f;
    if (name.size() > 11 && name.compare(name.size() - 11, 11, "running_var") == 0)
      for (float& v : t.data) v = 0.5f + float(rng() % 100) / 100.0f;
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".beta") == 0)
      for (float& v : t.data) v = float(int(rng() % 200) - 100) / 400.0f;
  }
  const Shape& in = g0.input_shape();
  torch::Tensor x = torch::randn({3, in.c, in.h, in.w});

  ChannelGroups cg0 = find_channel_groups(g0);
  ASSERT_GT(cg0.prunable_count(), 0) << what;
  WeightMap masked = w0;
  std::vector<std::vector<int>> keeps(cg0.groups.size());
  for (const ChannelGroup& grp : cg0.groups) {
    if (!grp.prunable) continue;
    std::vector<int> idx(size_t(grp.channels));
    for (int k = 0; k < grp.channels; ++k) idx[size_t(k)] = k;
    for (size_t k = idx.size(); k > 1; --k) std::swap(idx[k - 1], idx[rng() % k]);
    int keep_n = 1 + int(rng() % size_t(grp.channels));
    keeps[size_t(grp.id)].assign(idx.begin(), idx.begin() + keep_n);
    for (size_t k = size_t(keep_n); k < idx.size(); ++k) mask_channel(g0, cg0, grp.id, idx[k], masked);
  }
  torch::Tensor want = run(g0, masked, x);

  Graph g = g0;
  WeightMap w = w0;
  for (const ChannelGroup& grp : cg0.groups) {
    if (!grp.prunable) continue;
    ChannelGroups cg = find_channel_groups(g);  // offsets change as other groups shrink
    g = prune_group(g, cg, grp.id, keeps[size_t(grp.id)], &w);
  }
  EXPECT_LT(graph_params(g), graph_params(g0)) << what;
  torch::Tensor got = run(g, w, x);
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  double err = (got - want).abs().max().item<double>();
  double scale = want.abs().max().item<double>();
  EXPECT_LE(err, 1e-4 * std::max(1.0, scale)) << what << ": max |pruned - masked| = " << err;
  // And pruning changed the function (the masked channels mattered).
  torch::Tensor orig = run(g0, w0, x);
  EXPECT_GT((orig - want).abs().max().item<double>(), 1e-4) << what;
}

Graph concat_graph() {
  GraphBuilder b("concat", {12, 12, 3});
  int a = b.relu(b.batchnorm(b.conv(b.input(), 6, 3, 1, Padding::Same, "a"), "a_bn"), "a_relu");
  int c = b.conv(a, 5, 3, 2, Padding::Same, "c");
  int d = b.depthwise(a, 3, 2, Padding::Same, "d");
  int d_bn = b.batchnorm(d, "d_bn");
  int cat = b.concat({c, d_bn}, "cat");                     // 5 + 6 channels, offsets 0 and 5
  int e = b.conv(cat, 11, 1, 1, Padding::Same, "e");
  int sum = b.relu(b.add({cat, e}, "res"), "res_relu");  // 5+6 segments vs one of 11
  int p = b.maxpool(sum, 2, 2, Padding::Valid, "pool");
  int f = b.flatten(p, "flat");
  b.dense(f, 4, "logits");
  return b.finish();
}

TEST(Surgery, PrunedEqualsMaskedOnZooModels) {
  uint64_t seed = 11;
  for (const auto& e : zoo_entries())
    for (Shape in : {Shape{28, 28, 1}, Shape{32, 32, 3}, Shape{49, 10, 1}}) {
      ZooOptions o;
      o.input = in;
      check_equivalence(zoo_build(e.name, o), ++seed, e.name + " at " + in.str());
    }
}

TEST(Surgery, ConcatAddingDifferentlyGroupedChannelsIsFixed) {
  // The residual adds the concat (two groups: c's 5 and a's 6 via depthwise) to e (one
  // group of 11): boundaries differ, so all three groups must be fixed.
  Graph g = concat_graph();
  ChannelGroups cg = find_channel_groups(g);
  for (const char* node : {"c", "e", "a"}) {
    const ChannelLayout& l = cg.layout[size_t(g.find(node))];
    EXPECT_FALSE(cg.groups[size_t(l.segments[0].group)].prunable) << node;
  }
}

TEST(Surgery, PrunedEqualsMaskedWithConcatFlattenAndDepthwise) {
  // Like concat_graph but the residual is inside one branch, so concat groups stay prunable.
  GraphBuilder b("concat2", {12, 12, 3});
  int a = b.relu(b.batchnorm(b.conv(b.input(), 6, 3, 1, Padding::Same, "a"), "a_bn"), "a_relu");
  int c = b.conv(a, 5, 3, 2, Padding::Same, "c");
  int c2 = b.conv(c, 5, 3, 1, Padding::Same, "c2");
  int res = b.add({c, c2}, "res");
  int d = b.batchnorm(b.depthwise(a, 3, 2, Padding::Same, "d"), "d_bn");
  int cat = b.concat({res, d, res}, "cat");  // the residual group appears twice
  int e = b.relu(b.conv(cat, 7, 1, 1, Padding::Same, "e"), "e_relu");
  int cat2 = b.concat({e, cat}, "cat2");
  int f = b.flatten(b.maxpool(cat2, 2, 2, Padding::Valid, "pool"), "flat");
  b.dense(f, 4, "logits");
  Graph g = b.finish();
  ChannelGroups cg = find_channel_groups(g);
  EXPECT_EQ(cg.prunable_count(), 3);  // a (with d), c (with c2), e
  check_equivalence(g, 5, "concat2");
}

TEST(Surgery, SliceLikeParameterMatchesPruneGroup) {
  ZooOptions o;
  o.input = {16, 16, 3};
  Graph g = zoo_build("resnet8", o);
  torch::manual_seed(1);
  WeightMap w = Net(g)->weight_map();
  ChannelGroups cg = find_channel_groups(g);
  int group = cg.layout[size_t(g.find("conv1"))].segments[0].group;  // conv1 + stack1 residual
  std::vector<int> keep = {0, 3, 5, 9, 15};
  WeightMap pruned = w;
  Graph g2 = prune_group(g, cg, group, keep, &pruned);
  EXPECT_EQ(g2.nodes[size_t(g2.find("conv1"))].out_channels, 5);
  EXPECT_EQ(g2.nodes[size_t(g2.find("stack1_conv2"))].out_channels, 5);
  for (const char* p : {"stack1_conv1.weight", "stack2_shortcut.weight", "conv1_bn.gamma", "conv1.bias"}) {
    WeightTensor t = w.at(p);  // e.g. an Adam moment buffer shaped like the parameter
    slice_like_parameter(g, cg, group, keep, p, t);
    EXPECT_EQ(t.shape, pruned.at(p).shape) << p;
    EXPECT_EQ(t.data, pruned.at(p).data) << p;
  }
}

TEST(Surgery, BadRequestsAreClearErrors) {
  ZooOptions o;
  Graph g = zoo_build("tinycnn", o);
  ChannelGroups cg = find_channel_groups(g);
  auto msg = [&](int group, std::vector<int> keep) {
    try {
      prune_group(g, cg, group, keep, nullptr);
    } catch (const UserError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(msg(0, {0}).find("touches the model input"), std::string::npos);
  EXPECT_NE(msg(1, {}).find("at least one"), std::string::npos);
  EXPECT_NE(msg(1, {99}).find("outside group"), std::string::npos);
  EXPECT_NE(msg(1, {2, 2}).find("twice"), std::string::npos);
  EXPECT_NE(msg(42, {0}).find("no channel group 42"), std::string::npos);
}

}  // namespace
}  // namespace mcuprune
