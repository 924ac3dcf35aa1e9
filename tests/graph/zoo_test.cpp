// The built-in model zoo (zoo.h): every model at every reference input, hand-computed
// parameter counts, intermediate shapes and option errors.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <tuple>

#include "common/expect_error.h"
#include "graph/graph.h"
#include "graph/zoo.h"

namespace mcuprune {
namespace {

using test::Contains;
using test::user_error_of;

Graph build(const std::string& model, Shape in, int classes, double width = 0, int depth = 0) {
  ZooOptions o;
  o.input = in;
  o.classes = classes;
  o.width = width;
  o.depth = depth;
  return zoo_build(model, o);
}

const Node& node(const Graph& g, const std::string& name) {
  int i = g.find(name);
  if (i < 0) throw std::runtime_error("graph '" + g.name + "' has no node '" + name + "'");
  return g.nodes[i];
}

int count_kind(const Graph& g, OpKind k) {
  int n = 0;
  for (const auto& nd : g.nodes) n += nd.kind == k;
  return n;
}

// ------------------------------------------------------------------ every model, every input

class ZooBuilds : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(ZooBuilds, OutputIsClassesAndNoSideBelowOne) {
  const Shape inputs[] = {{28, 28, 1}, {32, 32, 3}, {49, 10, 1}};
  const int classes[] = {10, 10, 12};
  const std::string model = std::get<0>(GetParam());
  const int k = std::get<1>(GetParam());
  Graph g = build(model, inputs[k], classes[k]);
  EXPECT_EQ(g.input_shape(), inputs[k]);
  EXPECT_EQ(g.output_shape(), (Shape{1, 1, classes[k]}));
  EXPECT_EQ(g.output, int(g.nodes.size()) - 1);
  EXPECT_EQ(g.nodes.back().kind, OpKind::Dense);
  EXPECT_EQ(g.nodes.back().name, "logits");
  for (const Node& n : g.nodes) {
    EXPECT_GE(n.out.h, 1) << n.name;
    EXPECT_GE(n.out.w, 1) << n.name;
    EXPECT_GE(n.out.c, 1) << n.name;
  }
  // Every node but the logits feeds something (no dead branches).
  auto cons = g.consumers();
  for (size_t i = 0; i + 1 < g.nodes.size(); ++i)
    EXPECT_FALSE(cons[i].empty()) << g.nodes[i].name << " is unused";
  // Rebuilding gives the same graph (names and shapes are stable).
  Graph again = build(model, inputs[k], classes[k]);
  ASSERT_EQ(again.nodes.size(), g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    EXPECT_EQ(again.nodes[i].name, g.nodes[i].name);
    EXPECT_EQ(again.nodes[i].out, g.nodes[i].out);
  }
  EXPECT_GT(graph_params(g), 0);
  EXPECT_GE(graph_params_with_bn(g), graph_params(g));
}

std::string zoo_case_name(const ::testing::TestParamInfo<ZooBuilds::ParamType>& info) {
  const char* in[] = {"28x28x1", "32x32x3", "49x10x1"};
  return std::get<0>(info.param) + "_" + in[std::get<1>(info.param)];
}

INSTANTIATE_TEST_SUITE_P(
    AllModelsAllInputs, ZooBuilds,
    ::testing::Combine(::testing::Values("tinycnn", "vgg", "mobilenetv2", "resnet8", "dscnn"),
                       ::testing::Values(0, 1, 2)),
    zoo_case_name);

// ------------------------------------------------------------------ hand-computed counts
//
// graph_params counts conv/dense weights + biases (a conv is kh*kw*Cin*Cout + Cout, a
// depthwise conv kh*kw*C + C, a dense layer in*out + out); graph_params_with_bn adds
// 4 per BatchNorm channel (gamma, beta, running mean, running variance).

TEST(ZooParams, Resnet8At32x32x3) {
  Graph g = build("resnet8", {32, 32, 3}, 10);
  // conv1          3x3, 3 -> 16:   9*3*16 + 16   =    448   BN 16
  // stack1 (stride 1, 32x32x16; shapes match, so no shortcut conv)
  //   conv1        3x3, 16 -> 16:  9*16*16 + 16  =  2,320   BN 16
  //   conv2        3x3, 16 -> 16:                   2,320   BN 16
  // stack2 (stride 2 -> 16x16x32)
  //   conv1        3x3, 16 -> 32:  9*16*32 + 32  =  4,640   BN 32
  //   conv2        3x3, 32 -> 32:  9*32*32 + 32  =  9,248   BN 32
  //   shortcut     1x1, 16 -> 32:  16*32 + 32    =    544   (no BN)
  // stack3 (stride 2 -> 8x8x64)
  //   conv1        3x3, 32 -> 64:  9*32*64 + 64  = 18,496   BN 64
  //   conv2        3x3, 64 -> 64:  9*64*64 + 64  = 36,928   BN 64
  //   shortcut     1x1, 32 -> 64:  32*64 + 64    =  2,112
  // logits         64 -> 10:       64*10 + 10    =    650
  // total = 448 + 4,640 + 14,432 + 57,536 + 650 = 77,706
  // BN channels = 16 + 32 + 64 + 128 = 240 -> 960; with BN 78,666
  EXPECT_EQ(node_weight_params(g, g.find("stack2_shortcut")), 544);
  EXPECT_EQ(node_weight_params(g, g.find("stack3_conv2")), 36928);
  EXPECT_EQ(graph_params(g), 77706);
  EXPECT_EQ(graph_params_with_bn(g), 78666);
  EXPECT_EQ(count_kind(g, OpKind::Conv2D), 9);
  EXPECT_EQ(count_kind(g, OpKind::BatchNorm), 7);
}

TEST(ZooParams, DscnnAt49x10x1) {
  Graph g = build("dscnn", {49, 10, 1}, 12);
  // conv1          10x4, 1 -> 64, stride 2:  10*4*1*64 + 64 = 2,624   BN 64
  // ds1..ds4, each:
  //   dw           3x3 depthwise on 64:      9*64 + 64      =   640   BN 64
  //   pw           1x1, 64 -> 64:            64*64 + 64     = 4,160   BN 64
  //                                   per block               4,800   BN 128
  //                                   4 blocks               19,200   BN 512
  // logits         64 -> 12:                 64*12 + 12     =   780
  // total = 2,624 + 19,200 + 780 = 22,604
  // BN channels = 64 + 512 = 576 -> 2,304; with BN 24,908
  EXPECT_EQ(node_weight_params(g, g.find("conv1")), 2624);
  EXPECT_EQ(node_weight_params(g, g.find("ds3_dw")), 640);
  EXPECT_EQ(graph_params(g), 22604);
  EXPECT_EQ(graph_params_with_bn(g), 24908);
}

TEST(ZooParams, TinycnnAt28x28x1) {
  Graph g = build("tinycnn", {28, 28, 1}, 10);
  // conv1   3x3, 1 -> 16, same: 9*1*16 + 16  =    160   BN 16   28x28x16
  // pool1   2x2/2                                              14x14x16
  // conv2   3x3, 16 -> 24:      9*16*24 + 24 =  3,480   BN 24   14x14x24
  // pool2   2x2/2                                              7x7x24
  // flatten 7*7*24 = 1,176
  // logits  1,176 -> 10:        11,760 + 10  = 11,770
  // total = 160 + 3,480 + 11,770 = 15,410; BN (16 + 24) * 4 = 160 -> 15,570
  EXPECT_EQ(node(g, "flatten").out, (Shape{1, 1, 1176}));
  EXPECT_EQ(graph_params(g), 15410);
  EXPECT_EQ(graph_params_with_bn(g), 15570);
}

TEST(ZooParams, Vgg16Width025At32x32x3) {
  Graph g = build("vgg", {32, 32, 3}, 10);
  // Width 0.25: stage channels 64,128,256,512,512 -> 16,32,64,128,128; hidden 512 -> 128.
  // stage 1 (32x32):  conv1_1 3->16:    9*3*16+16    =     448
  //                   conv1_2 16->16:   9*16*16+16   =   2,320    BN 32   pool -> 16x16
  // stage 2 (16x16):  conv2_1 16->32:   9*16*32+32   =   4,640
  //                   conv2_2 32->32:   9*32*32+32   =   9,248    BN 64   pool -> 8x8
  // stage 3 (8x8):    conv3_1 32->64:   9*32*64+64   =  18,496
  //                   conv3_2, conv3_3 64->64: 2 * 36,928 = 73,856 BN 192 pool -> 4x4
  // stage 4 (4x4):    conv4_1 64->128:  9*64*128+128 =  73,856
  //                   conv4_2, conv4_3 128->128: 2 * 147,584 = 295,168 BN 384 pool -> 2x2
  // stage 5 (2x2):    conv5_1..3 128->128: 3 * 147,584 = 442,752 BN 384 pool -> 1x1
  // flatten 128; fc1 128->128: 16,512; fc2: 16,512; logits 128->10: 1,290
  // total = 2,768 + 13,888 + 92,352 + 369,024 + 442,752 + 34,314 = 955,098
  // BN channels = 32 + 64 + 192 + 384 + 384 = 1,056 -> 4,224; with BN 959,322
  EXPECT_EQ(g.name, "vgg16");
  EXPECT_EQ(count_kind(g, OpKind::Conv2D), 13);
  EXPECT_EQ(count_kind(g, OpKind::Dense), 3);
  EXPECT_EQ(node(g, "pool5").out, (Shape{1, 1, 128}));
  EXPECT_EQ(graph_params(g), 955098);
  EXPECT_EQ(graph_params_with_bn(g), 959322);
}

TEST(ZooParams, MobileNetV2Width035At32x32x3) {
  Graph g = build("mobilenetv2", {32, 32, 3}, 10);
  // make_divisible(v) = max(8, floor((v + 4) / 8) * 8), plus 8 if that is < 0.9 v:
  //   stem  32*0.35 = 11.2 -> 8, but 8 < 10.08 -> 16
  //   16*0.35 =  5.6 -> 8          24*0.35 =  8.4 -> 8       32*0.35 = 11.2 -> 16
  //   64*0.35 = 22.4 -> 24         96*0.35 = 33.6 -> 32      160*0.35 = 56 -> 56
  //   320*0.35 = 112 -> 112        head: width <= 1, so 1280
  // Blocks (t = expansion; expand 1x1 Cin->t*Cin, dw 3x3, project 1x1 -> Cout; all with
  // bias; residual add when stride 1 and Cin == Cout):
  //   stem   3x3 3->16:                        432+16                       =     448  BN 16
  //   b1     t1 16->8:   dw 160, proj 136                                   =     296  BN 24
  //   b2     t6 8->8 s2: exp 8->48 432, dw 480, proj 48->8 392              =   1,304  BN 104
  //   b3     same, + add                                                    =   1,304  BN 104
  //   b4     t6 8->16 s2: exp 432, dw 480, proj 48->16 784                  =   1,696  BN 112
  //   b5,b6  t6 16->16: exp 16->96 1,632, dw 960, proj 1,552          2 x   4,144  BN 2x208
  //   b7     t6 16->24 s2: exp 1,632, dw 960, proj 96->24 2,328             =   4,920  BN 216
  //   b8-b10 t6 24->24: exp 24->144 3,600, dw 1,440, proj 3,480       3 x   8,520  BN 3x312
  //   b11    t6 24->32: exp 3,600, dw 1,440, proj 144->32 4,640             =   9,680  BN 320
  //   b12,13 t6 32->32: exp 32->192 6,336, dw 1,920, proj 6,176       2 x  14,432  BN 2x416
  //   b14    t6 32->56 s2: exp 6,336, dw 1,920, proj 192->56 10,808         =  19,064  BN 440
  //   b15,16 t6 56->56: exp 56->336 19,152, dw 3,360, proj 18,872     2 x  41,384  BN 2x728
  //   b17    t6 56->112: exp 19,152, dw 3,360, proj 336->112 37,744         =  60,256  BN 784
  //   head   1x1 112->1280: 143,360 + 1,280                                 = 144,640  BN 1280
  //   logits 1280->10                                                       =  12,810
  // total = 448 + 296 + 2,608 + 9,984 + 30,480 + 38,544 + 101,832 + 60,256 + 144,640 + 12,810
  //       = 401,898
  // BN channels = 16+24+208+528+1,152+1,152+1,896+784+1,280 = 7,040 -> 28,160; with BN 430,058
  EXPECT_EQ(node(g, "stem").out, (Shape{32, 32, 16}));  // stem stride 1
  EXPECT_EQ(node(g, "block1_project").out.c, 8);
  EXPECT_EQ(node(g, "block2_expand").out.c, 48);
  EXPECT_EQ(node(g, "block3_project").out, (Shape{16, 16, 8}));
  EXPECT_EQ(node(g, "block6_project").out, (Shape{8, 8, 16}));
  EXPECT_EQ(node(g, "block10_project").out, (Shape{4, 4, 24}));
  EXPECT_EQ(node(g, "block13_project").out, (Shape{4, 4, 32}));
  EXPECT_EQ(node(g, "block16_project").out, (Shape{2, 2, 56}));
  EXPECT_EQ(node(g, "block17_project").out, (Shape{2, 2, 112}));
  EXPECT_EQ(node(g, "head").out, (Shape{2, 2, 1280}));
  EXPECT_EQ(node(g, "block15_dw").out.c, 336);
  // Residual adds exactly in blocks 3, 5, 6, 8, 9, 10, 12, 13, 15, 16.
  EXPECT_EQ(count_kind(g, OpKind::Add), 10);
  EXPECT_EQ(g.find("block2_add"), -1);
  EXPECT_NE(g.find("block3_add"), -1);
  EXPECT_EQ(g.find("block1_expand"), -1);  // expansion 1: no expand conv
  EXPECT_EQ(graph_params(g), 401898);
  EXPECT_EQ(graph_params_with_bn(g), 430058);
}

// ------------------------------------------------------------------ intermediate shapes

TEST(ZooShapes, Resnet8Stacks) {
  Graph g = build("resnet8", {32, 32, 3}, 10);
  EXPECT_EQ(node(g, "conv1_relu").out, (Shape{32, 32, 16}));
  EXPECT_EQ(node(g, "stack1_relu").out, (Shape{32, 32, 16}));
  EXPECT_EQ(node(g, "stack2_relu").out, (Shape{16, 16, 32}));
  EXPECT_EQ(node(g, "stack3_relu").out, (Shape{8, 8, 64}));
  EXPECT_EQ(g.find("stack1_shortcut"), -1);
  EXPECT_EQ(node(g, "stack2_shortcut").out, (Shape{16, 16, 32}));
  EXPECT_EQ(node(g, "stack3_shortcut").stride_h, 2);
  EXPECT_EQ(node(g, "gap").out, (Shape{1, 1, 64}));
  // At 49x10x1: 49x10 -> ceil(49/2) x ceil(10/2) = 25x5 -> 13x3.
  Graph k = build("resnet8", {49, 10, 1}, 12);
  EXPECT_EQ(node(k, "stack2_relu").out, (Shape{25, 5, 32}));
  EXPECT_EQ(node(k, "stack3_relu").out, (Shape{13, 3, 64}));
}

TEST(ZooShapes, DscnnConv1) {
  Graph g = build("dscnn", {49, 10, 1}, 12);
  const Node& c = node(g, "conv1");
  EXPECT_EQ(c.out, (Shape{25, 5, 64}));
  EXPECT_EQ(c.kernel_h, 10);
  EXPECT_EQ(c.kernel_w, 4);
  EXPECT_EQ(c.padding, Padding::Same);
  PadAmounts p = Graph::pad_amounts(c, g.input_shape());
  EXPECT_EQ(p.top, 4);  // total 24*2 + 10 - 49 = 9
  EXPECT_EQ(p.bottom, 5);
  EXPECT_EQ(p.left, 1);  // total 4*2 + 4 - 10 = 2
  EXPECT_EQ(p.right, 1);
  EXPECT_EQ(node(g, "ds4_pw_relu").out, (Shape{25, 5, 64}));
  EXPECT_FLOAT_EQ(node(g, "dropout1").dropout_rate, 0.2f);
  EXPECT_FLOAT_EQ(node(g, "dropout2").dropout_rate, 0.4f);
  EXPECT_EQ(node(g, "flatten").out, (Shape{1, 1, 64}));
}

TEST(ZooShapes, VggStopsDownsamplingAtOne) {
  // 49x10x1: widths 10 -> 5 -> 2 -> 1, then stay 1; heights 49 -> 24 -> 12 -> 6 -> 3 -> 1.
  Graph g = build("vgg", {49, 10, 1}, 12);
  EXPECT_EQ(node(g, "pool1").out, (Shape{24, 5, 16}));
  EXPECT_EQ(node(g, "pool2").out, (Shape{12, 2, 32}));
  EXPECT_EQ(node(g, "pool3").out, (Shape{6, 1, 64}));
  const Node& p4 = node(g, "pool4");
  EXPECT_EQ(p4.out, (Shape{3, 1, 128}));
  EXPECT_EQ(p4.kernel_w, 1);  // the width-1 side is left alone
  EXPECT_EQ(p4.stride_w, 1);
  EXPECT_EQ(p4.kernel_h, 2);
  EXPECT_EQ(node(g, "pool5").out, (Shape{1, 1, 128}));
  EXPECT_EQ(node(g, "flatten").out, (Shape{1, 1, 128}));
  // 28x28x1: 28 -> 14 -> 7 -> 3 -> 1; pool5 has nothing to shrink and is left out.
  Graph s = build("vgg", {28, 28, 1}, 10);
  EXPECT_EQ(node(s, "pool4").out, (Shape{1, 1, 128}));
  EXPECT_EQ(s.find("pool5"), -1);
  EXPECT_EQ(node(s, "conv5_3").out, (Shape{1, 1, 128}));
}

TEST(ZooShapes, StridedConvsStopAtOne) {
  // mobilenetv2 at 49x10x1: stride-2 blocks give 25x5, 13x3, 7x2, then 4x1.
  Graph g = build("mobilenetv2", {49, 10, 1}, 12);
  EXPECT_EQ(node(g, "block2_dw").out.h, 25);
  EXPECT_EQ(node(g, "block7_dw").out, (Shape{7, 2, 96}));
  EXPECT_EQ(node(g, "block14_dw").out, (Shape{4, 1, 192}));
  // A 1-pixel-wide input never shrinks below 1 and uses stride 1 on that side.
  Graph r = build("resnet8", {16, 1, 1}, 10);
  const Node& c = node(r, "stack2_conv1");
  EXPECT_EQ(c.stride_h, 2);
  EXPECT_EQ(c.stride_w, 1);
  EXPECT_EQ(node(r, "stack3_relu").out, (Shape{4, 1, 64}));
  Graph v = build("vgg", {1, 1, 3}, 10);
  EXPECT_EQ(count_kind(v, OpKind::MaxPool), 0);
  EXPECT_EQ(v.output_shape(), (Shape{1, 1, 10}));
}

// ------------------------------------------------------------------ options

TEST(ZooOpts, WidthAndDepth) {
  // resnet8 width 0.5: 8/16/32 filters.
  Graph r = build("resnet8", {32, 32, 3}, 10, 0.5);
  EXPECT_EQ(node(r, "conv1").out.c, 8);
  EXPECT_EQ(node(r, "stack3_relu").out.c, 32);
  // tinycnn width 2: 32 and 48 filters.
  Graph t = build("tinycnn", {28, 28, 1}, 10, 2.0);
  EXPECT_EQ(node(t, "conv1").out.c, 32);
  EXPECT_EQ(node(t, "conv2").out.c, 48);
  // vgg width 0.5: first stage 32, hidden 256.
  Graph v = build("vgg", {32, 32, 3}, 10, 0.5);
  EXPECT_EQ(node(v, "conv1_1").out.c, 32);
  EXPECT_EQ(node(v, "fc1").out.c, 256);
  // A width that leaves every layer at one channel is refused, naming the smallest useful one
  // (vgg's widest layer has 512 channels at width 1: 1.5 / 512 = 0.00293).
  const std::string tiny = test::user_error_of([] { build("vgg", {32, 32, 3}, 10, 1e-300); });
  EXPECT_TRUE(test::Contains(tiny, "width multiplier 1e-300 leaves every layer of vgg with a single channel")) << tiny;
  EXPECT_TRUE(test::Contains(tiny, "at least 0.00293")) << tiny;
  EXPECT_EQ(node(build("vgg", {32, 32, 3}, 10, 0.006), "fc1").out.c, 3);  // some layer above 1: accepted
  // Explicitly passing the default gives the default model.
  EXPECT_EQ(graph_params(build("vgg", {32, 32, 3}, 10, 0.25, 16)),
            graph_params(build("vgg", {32, 32, 3}, 10)));
  // VGG depth -> convolutions: 11 -> 8, 13 -> 10, 16 -> 13, 19 -> 16.
  const std::pair<int, int> depth_convs[] = {{11, 8}, {13, 10}, {16, 13}, {19, 16}};
  for (auto [depth, convs] : depth_convs) {
    Graph d = build("vgg", {32, 32, 3}, 10, 0, depth);
    EXPECT_EQ(count_kind(d, OpKind::Conv2D), convs) << depth;
    EXPECT_EQ(d.name, "vgg" + std::to_string(depth));
  }
}

TEST(ZooOpts, EntriesAndDefaults) {
  ASSERT_EQ(zoo_entries().size(), 5u);
  EXPECT_TRUE(zoo_has("mobilenetv2"));
  EXPECT_FALSE(zoo_has("resnet18"));
  for (const auto& e : zoo_entries()) {
    EXPECT_FALSE(e.description.empty()) << e.name;
    if (e.name == "vgg") {
      EXPECT_DOUBLE_EQ(e.default_width, 0.25);
      EXPECT_EQ(e.default_depth, 16);
    } else {
      EXPECT_EQ(e.default_depth, 0) << e.name;
    }
    if (e.name == "mobilenetv2") {
      EXPECT_DOUBLE_EQ(e.default_width, 0.35);
    }
  }
}

TEST(ZooErrors, UnknownModelListsModels) {
  EXPECT_THROW(build("resnet18", {32, 32, 3}, 10), UserError);
  std::string msg = user_error_of([] { build("resnet18", {32, 32, 3}, 10); });
  EXPECT_TRUE(Contains(msg, "'resnet18'"));
  for (const auto& e : zoo_entries()) EXPECT_TRUE(Contains(msg, e.name));
}

TEST(ZooErrors, DepthOnlyForVgg) {
  EXPECT_THROW(build("resnet8", {32, 32, 3}, 10, 0, 16), UserError);
  std::string msg = user_error_of([] { build("resnet8", {32, 32, 3}, 10, 0, 16); });
  EXPECT_TRUE(Contains(msg, "--depth"));
  EXPECT_TRUE(Contains(msg, "vgg"));
  EXPECT_TRUE(Contains(msg, "resnet8"));
  for (const char* m : {"tinycnn", "mobilenetv2", "dscnn"})
    EXPECT_TRUE(Contains(user_error_of([&] { build(m, {32, 32, 3}, 10, 0, 11); }), m));
}

TEST(ZooErrors, VggDepth12) {
  EXPECT_THROW(build("vgg", {32, 32, 3}, 10, 0, 12), UserError);
  std::string msg = user_error_of([] { build("vgg", {32, 32, 3}, 10, 0, 12); });
  EXPECT_TRUE(Contains(msg, "depth 12"));
  EXPECT_TRUE(Contains(msg, "11, 13, 16 or 19"));
}

TEST(ZooErrors, BadInputClassesWidth) {
  EXPECT_TRUE(Contains(user_error_of([] { build("tinycnn", {28, 0, 1}, 10); }), "28x0x1"));
  EXPECT_TRUE(Contains(user_error_of([] { build("tinycnn", {28, 28, 1}, 1); }),
                       "classes must be >= 2, got 1"));
  EXPECT_TRUE(Contains(user_error_of([] { build("tinycnn", {28, 28, 1}, 10, -1.0); }),
                       "width multiplier"));
}

}  // namespace
}  // namespace mcuprune
