// Shape inference, structural checks and parameter counts of the graph IR (graph.h).
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "common/expect_error.h"
#include "graph/graph.h"
#include "graph/graph_json.h"

#include <nlohmann/json.hpp>

namespace mcuprune {
namespace {

// Runs f, which must throw UserError, and returns its message (empty + a test failure
// when it throws nothing or something else).
using test::Contains;
using test::user_error_of;

Node input_node(Shape s) {
  Node n;
  n.name = "input";
  n.kind = OpKind::Input;
  n.out = s;
  return n;
}

Node node(const std::string& name, OpKind kind, std::vector<int> inputs) {
  Node n;
  n.name = name;
  n.kind = kind;
  n.inputs = std::move(inputs);
  return n;
}

Node conv_node(const std::string& name, int in, int out_c, int kh, int kw, int sh, int sw,
               Padding pad) {
  Node n = node(name, OpKind::Conv2D, {in});
  n.out_channels = out_c;
  n.kernel_h = kh, n.kernel_w = kw, n.stride_h = sh, n.stride_w = sw;
  n.padding = pad;
  return n;
}

Graph graph_of(Shape in, std::vector<Node> rest) {
  Graph g;
  g.name = "t";
  g.nodes.push_back(input_node(in));
  for (auto& n : rest) g.nodes.push_back(std::move(n));
  return g;
}

// Builds a one-op graph and returns the op's shape.
Shape one_op(Shape in, Node n) {
  Graph g = graph_of(in, {std::move(n)});
  g.infer_shapes();
  return g.nodes[1].out;
}

void expect_pads(const PadAmounts& p, int top, int bottom, int left, int right) {
  EXPECT_EQ(p.top, top);
  EXPECT_EQ(p.bottom, bottom);
  EXPECT_EQ(p.left, left);
  EXPECT_EQ(p.right, right);
}

// ------------------------------------------------------------------ basics

TEST(Shape, StrAndElements) {
  Shape s{49, 10, 3};
  EXPECT_EQ(s.str(), "49x10x3");
  EXPECT_EQ(s.elements(), 1470);
  EXPECT_EQ((Shape{30000, 30000, 8}.elements()), int64_t(7200000000));  // no int overflow
  EXPECT_TRUE((Shape{1, 2, 3} == Shape{1, 2, 3}));
  EXPECT_TRUE((Shape{1, 2, 3} != Shape{1, 3, 2}));
}

TEST(OpNames, RoundTripEveryKind) {
  ASSERT_EQ(all_op_kinds().size(), 16u);
  for (OpKind k : all_op_kinds()) EXPECT_EQ(op_kind_from_name(op_kind_name(k)), k);
  EXPECT_STREQ(op_kind_name(OpKind::Conv2D), "conv2d");
  EXPECT_STREQ(op_kind_name(OpKind::DepthwiseConv2D), "depthwise_conv2d");
  EXPECT_STREQ(op_kind_name(OpKind::GlobalAvgPool), "global_avgpool");
  EXPECT_STREQ(op_kind_name(OpKind::Mfcc), "mfcc");
  EXPECT_STREQ(padding_name(Padding::Same), "same");
  EXPECT_STREQ(padding_name(Padding::Valid), "valid");
  EXPECT_STREQ(padding_name(Padding::Explicit), "explicit");
  EXPECT_STREQ(activation_name(Activation::ReLU6), "relu6");
  EXPECT_STREQ(activation_name(Activation::None), "none");
}

TEST(OpNames, UnknownNameListsKnownOps) {
  EXPECT_THROW(op_kind_from_name("conv3d"), UserError);
  std::string msg = user_error_of([] { op_kind_from_name("conv3d"); });
  EXPECT_TRUE(Contains(msg, "'conv3d'"));
  for (OpKind k : all_op_kinds()) EXPECT_TRUE(Contains(msg, op_kind_name(k)));
  // Names are case-sensitive.
  EXPECT_THROW(op_kind_from_name("Conv2D"), UserError);
}

// ------------------------------------------------------------------ convolutions

TEST(ConvShape, SameStride1KeepsSize) {
  Node n = conv_node("c", 0, 8, 3, 3, 1, 1, Padding::Same);
  EXPECT_EQ(one_op({28, 28, 1}, n), (Shape{28, 28, 8}));
  expect_pads(Graph::pad_amounts(n, {28, 28, 1}), 1, 1, 1, 1);
  // 5x5 kernel: total padding 4, split 2/2.
  n.kernel_h = n.kernel_w = 5;
  EXPECT_EQ(one_op({28, 28, 1}, n), (Shape{28, 28, 8}));
  expect_pads(Graph::pad_amounts(n, {28, 28, 1}), 2, 2, 2, 2);
}

TEST(ConvShape, Valid) {
  // (28 - 3) / 1 + 1 = 26
  EXPECT_EQ(one_op({28, 28, 1}, conv_node("c", 0, 4, 3, 3, 1, 1, Padding::Valid)),
            (Shape{26, 26, 4}));
  // (28 - 5) / 2 + 1 = 12 (floor), (28 - 3) / 3 + 1 = 9
  EXPECT_EQ(one_op({28, 28, 1}, conv_node("c", 0, 4, 5, 3, 2, 3, Padding::Valid)),
            (Shape{12, 9, 4}));
  expect_pads(Graph::pad_amounts(conv_node("c", 0, 4, 5, 3, 2, 3, Padding::Valid), {28, 28, 1}),
              0, 0, 0, 0);
  // Kernel equal to the input: 1x1 output.
  EXPECT_EQ(one_op({5, 3, 2}, conv_node("c", 0, 7, 5, 3, 1, 1, Padding::Valid)),
            (Shape{1, 1, 7}));
}

TEST(ConvShape, Explicit) {
  Node n = conv_node("c", 0, 4, 3, 3, 1, 1, Padding::Explicit);
  n.pad_top = 2, n.pad_bottom = 0, n.pad_left = 1, n.pad_right = 3;
  // h: (28 + 2 + 0 - 3) / 1 + 1 = 28; w: (28 + 1 + 3 - 3) / 1 + 1 = 30
  EXPECT_EQ(one_op({28, 28, 1}, n), (Shape{28, 30, 4}));
  expect_pads(Graph::pad_amounts(n, {28, 28, 1}), 2, 0, 1, 3);
  // With stride 2: h: (7 + 1 + 1 - 3) / 2 + 1 = 4; w: (7 + 0 + 0 - 3) / 2 + 1 = 3
  Node m = conv_node("c", 0, 4, 3, 3, 2, 2, Padding::Explicit);
  m.pad_top = 1, m.pad_bottom = 1;
  EXPECT_EQ(one_op({7, 7, 1}, m), (Shape{4, 3, 4}));
}

TEST(ConvShape, SameStride2OddSizes) {
  // 7x7, 3x3, stride 2, same: out = ceil(7/2) = 4;
  // total padding = (4 - 1) * 2 + 3 - 7 = 2 -> top 1, bottom 1 (left 1, right 1).
  Node n = conv_node("c", 0, 8, 3, 3, 2, 2, Padding::Same);
  EXPECT_EQ(one_op({7, 7, 3}, n), (Shape{4, 4, 8}));
  expect_pads(Graph::pad_amounts(n, {7, 7, 3}), 1, 1, 1, 1);
  // 2x2 kernel: total = 3 * 2 + 2 - 7 = 1 -> the odd pixel goes to the bottom/right.
  n.kernel_h = n.kernel_w = 2;
  EXPECT_EQ(one_op({7, 7, 3}, n), (Shape{4, 4, 8}));
  expect_pads(Graph::pad_amounts(n, {7, 7, 3}), 0, 1, 0, 1);
  // 4x4 kernel: total = 3 * 2 + 4 - 7 = 3 -> top 1, bottom 2.
  n.kernel_h = n.kernel_w = 4;
  EXPECT_EQ(one_op({7, 7, 3}, n), (Shape{4, 4, 8}));
  expect_pads(Graph::pad_amounts(n, {7, 7, 3}), 1, 2, 1, 2);
  // 1x1 kernel, stride 2: total = 3 * 2 + 1 - 7 = 0; out still ceil(7/2) = 4.
  n.kernel_h = n.kernel_w = 1;
  EXPECT_EQ(one_op({7, 7, 3}, n), (Shape{4, 4, 8}));
  expect_pads(Graph::pad_amounts(n, {7, 7, 3}), 0, 0, 0, 0);
  // Even input 6x6, 3x3/2: out 3, total = 2 * 2 + 3 - 6 = 1 -> top 0, bottom 1.
  n.kernel_h = n.kernel_w = 3;
  EXPECT_EQ(one_op({6, 6, 3}, n), (Shape{3, 3, 8}));
  expect_pads(Graph::pad_amounts(n, {6, 6, 3}), 0, 1, 0, 1);
  // Stride 3 with a 1x1 kernel would need negative padding: clamped at 0, out = ceil(8/3) = 3.
  Node s3 = conv_node("c", 0, 2, 1, 1, 3, 3, Padding::Same);
  EXPECT_EQ(one_op({8, 8, 1}, s3), (Shape{3, 3, 2}));
  expect_pads(Graph::pad_amounts(s3, {8, 8, 1}), 0, 0, 0, 0);
}

TEST(ConvShape, SameNonSquareKernelAndStride) {
  // DS-CNN's first layer: 49x10 input, 10x4 kernel, stride 2, same.
  // out = ceil(49/2) x ceil(10/2) = 25 x 5;
  // total h = 24 * 2 + 10 - 49 = 9 -> top 4, bottom 5; total w = 4 * 2 + 4 - 10 = 2 -> 1/1.
  Node n = conv_node("c", 0, 64, 10, 4, 2, 2, Padding::Same);
  EXPECT_EQ(one_op({49, 10, 1}, n), (Shape{25, 5, 64}));
  expect_pads(Graph::pad_amounts(n, {49, 10, 1}), 4, 5, 1, 1);
  // Different strides per axis: 49 / 1 -> 49, ceil(10 / 2) = 5.
  Node m = conv_node("c", 0, 3, 3, 3, 1, 2, Padding::Same);
  EXPECT_EQ(one_op({49, 10, 1}, m), (Shape{49, 5, 3}));
  // total w = 4 * 2 + 3 - 10 = 1 -> left 0, right 1.
  expect_pads(Graph::pad_amounts(m, {49, 10, 1}), 1, 1, 0, 1);
}

TEST(ConvShape, Dilation) {
  // 3x3 kernel, dilation 2: effective 5x5. Valid: 28 - 5 + 1 = 24.
  Node n = conv_node("c", 0, 4, 3, 3, 1, 1, Padding::Valid);
  n.dilation_h = n.dilation_w = 2;
  EXPECT_EQ(one_op({28, 28, 1}, n), (Shape{24, 24, 4}));
  // Same, stride 1: total padding = effective kernel - 1 = 4 -> 2/2.
  n.padding = Padding::Same;
  EXPECT_EQ(one_op({28, 28, 1}, n), (Shape{28, 28, 4}));
  expect_pads(Graph::pad_amounts(n, {28, 28, 1}), 2, 2, 2, 2);
  // Same, 7x7, stride 2: out 4, total = 3 * 2 + 5 - 7 = 4 -> 2/2.
  n.stride_h = n.stride_w = 2;
  EXPECT_EQ(one_op({7, 7, 1}, n), (Shape{4, 4, 4}));
  expect_pads(Graph::pad_amounts(n, {7, 7, 1}), 2, 2, 2, 2);
  // Dilation only along width: h effective 3, w effective (3-1)*3+1 = 7. Valid on 10x10:
  // h 8, w 4.
  Node m = conv_node("c", 0, 4, 3, 3, 1, 1, Padding::Valid);
  m.dilation_w = 3;
  EXPECT_EQ(one_op({10, 10, 1}, m), (Shape{8, 4, 4}));
  // Dilation does not change the parameter count.
  Graph g = graph_of({10, 10, 2}, {m});
  g.infer_shapes();
  EXPECT_EQ(node_weight_params(g, 1), 3 * 3 * 2 * 4 + 4);
}

TEST(ConvShape, DepthwiseWithMultiplier) {
  Node n = node("dw", OpKind::DepthwiseConv2D, {0});
  n.kernel_h = n.kernel_w = 3;
  n.padding = Padding::Same;
  n.depth_multiplier = 3;
  EXPECT_EQ(one_op({10, 10, 4}, n), (Shape{10, 10, 12}));
  Graph g = graph_of({10, 10, 4}, {n});
  g.infer_shapes();
  // 3*3 per output channel (12) + 12 biases.
  EXPECT_EQ(node_weight_params(g, 1), 9 * 12 + 12);
  // Default multiplier 1, stride 2 valid: (10 - 3) / 2 + 1 = 4.
  Node m = node("dw", OpKind::DepthwiseConv2D, {0});
  m.kernel_h = m.kernel_w = 3;
  m.stride_h = m.stride_w = 2;
  m.use_bias = false;
  EXPECT_EQ(one_op({10, 10, 4}, m), (Shape{4, 4, 4}));
  Graph g2 = graph_of({10, 10, 4}, {m});
  g2.infer_shapes();
  EXPECT_EQ(node_weight_params(g2, 1), 9 * 4);
}

// ------------------------------------------------------------------ pools and the rest

TEST(PoolShape, MaxAndAvg) {
  Node mp = node("p", OpKind::MaxPool, {0});
  mp.kernel_h = mp.kernel_w = 2;
  mp.stride_h = mp.stride_w = 2;
  // Valid: (7 - 2) / 2 + 1 = 3 (the last row/column is dropped).
  EXPECT_EQ(one_op({7, 7, 5}, mp), (Shape{3, 3, 5}));
  // Same: ceil(7/2) = 4; total = 3 * 2 + 2 - 7 = 1 -> bottom/right.
  mp.padding = Padding::Same;
  EXPECT_EQ(one_op({7, 7, 5}, mp), (Shape{4, 4, 5}));
  expect_pads(Graph::pad_amounts(mp, {7, 7, 5}), 0, 1, 0, 1);

  Node ap = node("p", OpKind::AvgPool, {0});
  ap.kernel_h = ap.kernel_w = 3;
  ap.padding = Padding::Same;
  EXPECT_EQ(one_op({7, 6, 2}, ap), (Shape{7, 6, 2}));
  expect_pads(Graph::pad_amounts(ap, {7, 6, 2}), 1, 1, 1, 1);
  // 3x3 stride 2 valid on 8: (8 - 3) / 2 + 1 = 3.
  ap.stride_h = ap.stride_w = 2;
  ap.padding = Padding::Valid;
  EXPECT_EQ(one_op({8, 8, 2}, ap), (Shape{3, 3, 2}));
  // Pools own no parameters.
  Graph g = graph_of({8, 8, 2}, {ap});
  g.infer_shapes();
  EXPECT_EQ(node_weight_params(g, 1), 0);
}

TEST(PoolShape, GlobalAvgPoolFlattenDense) {
  EXPECT_EQ(one_op({7, 5, 12}, node("g", OpKind::GlobalAvgPool, {0})), (Shape{1, 1, 12}));
  EXPECT_EQ(one_op({7, 7, 4}, node("f", OpKind::Flatten, {0})), (Shape{1, 1, 196}));

  Node fl = node("f", OpKind::Flatten, {0});
  Node d = node("d", OpKind::Dense, {1});
  d.out_channels = 10;
  Graph g = graph_of({7, 7, 4}, {fl, d});
  g.infer_shapes();
  EXPECT_EQ(g.output_shape(), (Shape{1, 1, 10}));
  EXPECT_EQ(node_weight_params(g, 2), 196 * 10 + 10);
  g.nodes[2].use_bias = false;
  EXPECT_EQ(node_weight_params(g, 2), 196 * 10);
  // Dense directly after a global average pool (already 1x1xC).
  Node gap = node("g", OpKind::GlobalAvgPool, {0});
  Node d2 = node("d", OpKind::Dense, {1});
  d2.out_channels = 3;
  Graph g2 = graph_of({7, 7, 4}, {gap, d2});
  g2.infer_shapes();
  EXPECT_EQ(g2.output_shape(), (Shape{1, 1, 3}));
  EXPECT_EQ(graph_params(g2), 4 * 3 + 3);
}

TEST(PoolShape, ShapePreservingOps) {
  for (OpKind k : {OpKind::BatchNorm, OpKind::ReLU, OpKind::ReLU6, OpKind::Softmax,
                   OpKind::Dropout}) {
    Node n = node("x", k, {0});
    if (k == OpKind::Dropout) n.dropout_rate = 0.5f;
    EXPECT_EQ(one_op({5, 3, 7}, n), (Shape{5, 3, 7})) << op_kind_name(k);
  }
}

TEST(MergeShape, AddAndConcat) {
  Node a = conv_node("a", 0, 16, 3, 3, 1, 1, Padding::Same);
  Node b = conv_node("b", 0, 16, 1, 1, 1, 1, Padding::Same);
  Node c = conv_node("c", 0, 32, 1, 1, 1, 1, Padding::Same);
  Node add = node("sum", OpKind::Add, {1, 2});
  Node add3 = node("sum3", OpKind::Add, {1, 2, 4});
  Node cat = node("cat", OpKind::Concat, {1, 3, 2});
  Graph g = graph_of({8, 8, 3}, {a, b, c, add, add3, cat});
  g.infer_shapes();
  EXPECT_EQ(g.nodes[4].out, (Shape{8, 8, 16}));
  EXPECT_EQ(g.nodes[5].out, (Shape{8, 8, 16}));
  EXPECT_EQ(g.nodes[6].out, (Shape{8, 8, 64}));  // 16 + 32 + 16
  EXPECT_EQ(g.output, 6);
  EXPECT_EQ(g.output_shape(), (Shape{8, 8, 64}));
}

TEST(GraphStructure, FindConsumersOutput) {
  GraphBuilder b("t", {8, 8, 3});
  int c1 = b.conv(b.input(), 4, 3, 1, Padding::Same, "c1");
  int c2 = b.conv(c1, 4, 3, 1, Padding::Same, "c2");
  int s = b.add({c1, c2}, "s");
  int r = b.relu(s);
  Graph g = b.finish();
  EXPECT_EQ(g.find("c2"), c2);
  EXPECT_EQ(g.find("nope"), -1);
  EXPECT_EQ(g.output, r);
  EXPECT_EQ(g.input_shape(), (Shape{8, 8, 3}));
  auto cons = g.consumers();
  ASSERT_EQ(cons.size(), g.nodes.size());
  EXPECT_EQ(cons[0], std::vector<int>({c1}));
  EXPECT_EQ(cons[c1], std::vector<int>({c2, s}));
  EXPECT_EQ(cons[s], std::vector<int>({r}));
  EXPECT_TRUE(cons[r].empty());
  // Output other than the last node is kept by infer_shapes.
  g.output = c2;
  g.infer_shapes();
  EXPECT_EQ(g.output, c2);
  EXPECT_EQ(g.output_shape(), (Shape{8, 8, 4}));
}

TEST(GraphBuilder, AutoNamesCountPerKind) {
  GraphBuilder b("t", {8, 8, 1});
  int x = b.conv(b.input(), 2, 3);
  x = b.relu(x);
  x = b.conv(x, 2, 3);
  x = b.relu(x);
  x = b.maxpool(x, 2, 2);
  x = b.flatten(x);
  x = b.dense(x, 3);
  Graph g = b.finish();
  std::vector<std::string> names;
  for (const auto& n : g.nodes) names.push_back(n.name);
  EXPECT_EQ(names, (std::vector<std::string>{"input", "conv2d_1", "relu_1", "conv2d_2", "relu_2",
                                             "maxpool_1", "flatten_1", "dense_1"}));
  EXPECT_EQ(g.output_shape(), (Shape{1, 1, 3}));
  EXPECT_EQ(g.nodes[5].out, (Shape{4, 4, 2}));
}

TEST(Params, CountsWeightsBiasesAndBatchNorm) {
  GraphBuilder b("t", {8, 8, 3});
  int x = b.conv(b.input(), 4, 3, 1, Padding::Same, "c1");           // 3*3*3*4 + 4 = 112
  x = b.batchnorm(x, "bn");                                          // 4 * 4 = 16 (BN only)
  x = b.conv(x, 6, 1, 1, Padding::Same, "c2", /*bias=*/false);       // 4*6 = 24
  x = b.depthwise(x, 3, 2, Padding::Same, "dw");                     // 9*6 + 6 = 60; 4x4x6
  x = b.flatten(x, "f");                                             // 96
  b.dense(x, 5, "fc");                                               // 96*5 + 5 = 485
  Graph g = b.finish();
  EXPECT_EQ(node_weight_params(g, 1), 112);
  EXPECT_EQ(node_weight_params(g, 2), 0);
  EXPECT_EQ(node_bn_params(g, 2), 16);
  EXPECT_EQ(node_bn_params(g, 1), 0);
  EXPECT_EQ(node_weight_params(g, 3), 24);
  EXPECT_EQ(node_weight_params(g, 4), 60);
  EXPECT_EQ(node_weight_params(g, 6), 485);
  EXPECT_EQ(node_weight_params(g, 0), 0);
  EXPECT_EQ(graph_params(g), 112 + 24 + 60 + 485);
  EXPECT_EQ(graph_params_with_bn(g), 112 + 24 + 60 + 485 + 16);
}

TEST(Activation, FusedAllowedOnlyOnConvDenseAdd) {
  Node c = conv_node("c", 0, 4, 3, 3, 1, 1, Padding::Same);
  c.activation = Activation::ReLU6;
  EXPECT_EQ(one_op({8, 8, 1}, c), (Shape{8, 8, 4}));
  Node p = node("pool", OpKind::MaxPool, {0});
  p.kernel_h = p.kernel_w = 2;
  p.stride_h = p.stride_w = 2;
  p.activation = Activation::ReLU;
  Graph g = graph_of({8, 8, 1}, {p});
  EXPECT_THROW(g.infer_shapes(), UserError);
  std::string msg = user_error_of([&] { g.infer_shapes(); });
  EXPECT_TRUE(Contains(msg, "pool (maxpool)"));
  EXPECT_TRUE(Contains(msg, "fused activation"));
}

// ------------------------------------------------------------------ errors

TEST(ShapeErrors, AddChannelMismatchNamesNodeAndShapes) {
  Node a = conv_node("branch_a", 0, 16, 3, 3, 1, 1, Padding::Same);
  Node b = conv_node("branch_b", 0, 32, 3, 3, 1, 1, Padding::Same);
  Node add = node("merge", OpKind::Add, {1, 2});
  Graph g = graph_of({8, 8, 3}, {a, b, add});
  EXPECT_THROW(g.infer_shapes(), UserError);
  std::string msg = user_error_of([&] { g.infer_shapes(); });
  EXPECT_TRUE(Contains(msg, "merge"));
  EXPECT_TRUE(Contains(msg, "add"));
  EXPECT_TRUE(Contains(msg, "8x8x16"));
  EXPECT_TRUE(Contains(msg, "8x8x32"));
  EXPECT_TRUE(Contains(msg, "branch_a"));
  EXPECT_TRUE(Contains(msg, "branch_b"));
}

TEST(ShapeErrors, AddSpatialMismatchThroughBuilder) {
  GraphBuilder b("t", {8, 8, 4});
  int p = b.maxpool(b.input(), 2, 2, Padding::Valid, "half");
  EXPECT_THROW(b.add({b.input(), p}, "res"), UserError);
}

TEST(ShapeErrors, ConcatSpatialMismatch) {
  Node p = node("half", OpKind::MaxPool, {0});
  p.kernel_h = p.kernel_w = 2;
  p.stride_h = p.stride_w = 2;
  Node cat = node("joined", OpKind::Concat, {0, 1});
  Graph g = graph_of({8, 8, 4}, {p, cat});
  EXPECT_THROW(g.infer_shapes(), UserError);
  std::string msg = user_error_of([&] { g.infer_shapes(); });
  EXPECT_TRUE(Contains(msg, "joined (concat)"));
  EXPECT_TRUE(Contains(msg, "8x8x4"));
  EXPECT_TRUE(Contains(msg, "4x4x4"));
}

TEST(ShapeErrors, DenseOnSpatialInput) {
  Node d = node("classifier", OpKind::Dense, {0});
  d.out_channels = 10;
  Graph g = graph_of({7, 7, 4}, {d});
  EXPECT_THROW(g.infer_shapes(), UserError);
  std::string msg = user_error_of([&] { g.infer_shapes(); });
  EXPECT_TRUE(Contains(msg, "classifier (dense)"));
  EXPECT_TRUE(Contains(msg, "7x7x4"));
  EXPECT_TRUE(Contains(msg, "flatten"));
}

TEST(ShapeErrors, KernelLargerThanInputValid) {
  Graph g = graph_of({3, 3, 1}, {conv_node("big", 0, 4, 5, 5, 1, 1, Padding::Valid)});
  EXPECT_THROW(g.infer_shapes(), UserError);
  std::string msg = user_error_of([&] { g.infer_shapes(); });
  EXPECT_TRUE(Contains(msg, "big (conv2d)"));
  EXPECT_TRUE(Contains(msg, "5x5"));
  EXPECT_TRUE(Contains(msg, "3x3x1"));
  EXPECT_TRUE(Contains(msg, "valid"));
  // Only one axis too large.
  Graph g2 = graph_of({10, 3, 1}, {conv_node("tall", 0, 4, 3, 4, 1, 1, Padding::Valid)});
  EXPECT_TRUE(Contains(user_error_of([&] { g2.infer_shapes(); }), "tall"));
  // Same padding always fits.
  EXPECT_EQ(one_op({3, 3, 1}, conv_node("big", 0, 4, 5, 5, 1, 1, Padding::Same)),
            (Shape{3, 3, 4}));
  // A pool window larger than the input.
  Node p = node("pool", OpKind::MaxPool, {0});
  p.kernel_h = p.kernel_w = 4;
  p.stride_h = p.stride_w = 4;
  Graph g3 = graph_of({3, 3, 1}, {p});
  EXPECT_TRUE(Contains(user_error_of([&] { g3.infer_shapes(); }), "pool (maxpool)"));
  // Dilation makes the effective kernel too large: (3-1)*2+1 = 5 > 4.
  Node d = conv_node("dil", 0, 1, 3, 3, 1, 1, Padding::Valid);
  d.dilation_h = 2;
  Graph g4 = graph_of({4, 4, 1}, {d});
  EXPECT_TRUE(Contains(user_error_of([&] { g4.infer_shapes(); }), "dil (conv2d)"));
}

TEST(ShapeErrors, InputIndexMustBeEarlier) {
  Node a = conv_node("a", 0, 4, 3, 3, 1, 1, Padding::Same);
  Node b = conv_node("b", 2, 4, 3, 3, 1, 1, Padding::Same);  // refers to itself
  Graph g = graph_of({8, 8, 1}, {a, b});
  EXPECT_THROW(g.infer_shapes(), UserError);
  std::string msg = user_error_of([&] { g.infer_shapes(); });
  EXPECT_TRUE(Contains(msg, "b (conv2d)"));
  EXPECT_TRUE(Contains(msg, "input index 2"));
  EXPECT_TRUE(Contains(msg, "topological"));
  // A later node.
  g.nodes[1].inputs = {2};
  g.nodes[2].inputs = {0};
  msg = user_error_of([&] { g.infer_shapes(); });
  EXPECT_TRUE(Contains(msg, "a (conv2d)"));
  EXPECT_TRUE(Contains(msg, "input index 2"));
  // Negative and out-of-range indices.
  g.nodes[1].inputs = {-1};
  EXPECT_TRUE(Contains(user_error_of([&] { g.infer_shapes(); }), "input index -1"));
  g.nodes[1].inputs = {99};
  EXPECT_TRUE(Contains(user_error_of([&] { g.infer_shapes(); }), "input index 99"));
}

TEST(ShapeErrors, DuplicateNames) {
  Graph g = graph_of({8, 8, 1}, {conv_node("conv", 0, 4, 3, 3, 1, 1, Padding::Same),
                                 conv_node("conv", 1, 4, 3, 3, 1, 1, Padding::Same)});
  EXPECT_THROW(g.infer_shapes(), UserError);
  std::string msg = user_error_of([&] { g.infer_shapes(); });
  EXPECT_TRUE(Contains(msg, "'conv'"));
  EXPECT_TRUE(Contains(msg, "twice"));
  // Through the builder.
  GraphBuilder b("t", {8, 8, 1});
  b.relu(b.input(), "r");
  EXPECT_THROW(b.relu(b.input(), "r"), UserError);
  // The input's name counts too.
  Graph g2 = graph_of({8, 8, 1}, {node("input", OpKind::ReLU, {0})});
  EXPECT_TRUE(Contains(user_error_of([&] { g2.infer_shapes(); }), "'input'"));
}

TEST(ShapeErrors, EmptyName) {
  Graph g = graph_of({8, 8, 1}, {node("", OpKind::ReLU, {0})});
  EXPECT_TRUE(Contains(user_error_of([&] { g.infer_shapes(); }), "node #1 has no name"));
}

TEST(ShapeErrors, WrongArity) {
  Node c = conv_node("c", 0, 4, 3, 3, 1, 1, Padding::Same);
  c.inputs = {0, 0};
  Graph g = graph_of({8, 8, 1}, {c});
  EXPECT_THROW(g.infer_shapes(), UserError);
  std::string msg = user_error_of([&] { g.infer_shapes(); });
  EXPECT_TRUE(Contains(msg, "c (conv2d)"));
  EXPECT_TRUE(Contains(msg, "expects 1 input(s), got 2"));

  Graph g2 = graph_of({8, 8, 1}, {node("s", OpKind::Add, {0})});
  msg = user_error_of([&] { g2.infer_shapes(); });
  EXPECT_TRUE(Contains(msg, "s (add)"));
  EXPECT_TRUE(Contains(msg, "expects at least 2 input(s), got 1"));

  Graph g3 = graph_of({8, 8, 1}, {node("r", OpKind::ReLU, {})});
  EXPECT_TRUE(Contains(user_error_of([&] { g3.infer_shapes(); }), "expects 1 input(s), got 0"));

  Graph g4 = graph_of({8, 8, 1}, {node("j", OpKind::Concat, {})});
  EXPECT_TRUE(Contains(user_error_of([&] { g4.infer_shapes(); }), "j (concat)"));

  Graph g5 = graph_of({8, 8, 1}, {});
  g5.nodes[0].inputs = {0};
  EXPECT_TRUE(Contains(user_error_of([&] { g5.infer_shapes(); }), "expects 0 input(s), got 1"));
}

TEST(ShapeErrors, InputPlacementAndShape) {
  Graph empty;
  empty.name = "nothing";
  EXPECT_TRUE(Contains(user_error_of([&] { empty.infer_shapes(); }), "no nodes"));
  EXPECT_THROW(empty.input_shape(), UserError);

  Graph first_not_input;
  first_not_input.name = "g";
  first_not_input.nodes.push_back(node("r", OpKind::ReLU, {}));
  std::string msg = user_error_of([&] { first_not_input.infer_shapes(); });
  EXPECT_TRUE(Contains(msg, "'r'"));
  EXPECT_TRUE(Contains(msg, "must be the input"));

  Node second = input_node({4, 4, 1});
  second.name = "input2";
  Graph two_inputs = graph_of({8, 8, 1}, {second});
  EXPECT_TRUE(
      Contains(user_error_of([&] { two_inputs.infer_shapes(); }), "only the first node"));

  Graph zero = graph_of({8, 0, 1}, {});
  msg = user_error_of([&] { zero.infer_shapes(); });
  EXPECT_TRUE(Contains(msg, "8x0x1"));
  EXPECT_TRUE(Contains(msg, "positive"));
}

TEST(ShapeErrors, BadAttributes) {
  auto msg_for = [](Shape in, Node n) {
    Graph g = graph_of(in, {std::move(n)});
    return user_error_of([&] { g.infer_shapes(); });
  };
  Node c = conv_node("c", 0, 0, 3, 3, 1, 1, Padding::Same);
  EXPECT_TRUE(Contains(msg_for({8, 8, 1}, c), "out_channels must be >= 1, got 0"));
  c.out_channels = 4;
  c.stride_w = 0;
  EXPECT_TRUE(Contains(msg_for({8, 8, 1}, c), "stride width must be >= 1, got 0"));
  c.stride_w = 1;
  c.kernel_h = 0;
  EXPECT_TRUE(Contains(msg_for({8, 8, 1}, c), "kernel height must be >= 1"));
  c.kernel_h = 3;
  c.dilation_h = 0;
  EXPECT_TRUE(Contains(msg_for({8, 8, 1}, c), "dilation height must be >= 1"));
  c.dilation_h = 1;
  c.padding = Padding::Explicit;
  c.pad_left = -1;
  EXPECT_TRUE(Contains(msg_for({8, 8, 1}, c), "explicit padding must be in [0, 1024]"));
  // Values that would overflow 32-bit sizes are named, not wrapped.
  c.pad_left = 2000000000;
  EXPECT_TRUE(Contains(msg_for({8, 8, 1}, c), "explicit padding must be in [0, 1024]"));
  c.pad_left = 0;
  c.dilation_h = 100000;
  EXPECT_TRUE(Contains(msg_for({8, 8, 1}, c), "dilation height 100000 is too large"));
  c.dilation_h = 1;
  EXPECT_TRUE(Contains(msg_for({65536, 8, 1}, c), "is too large: height, width and channels go up to 65535"));
  EXPECT_TRUE(Contains(msg_for({60000, 60000, 3}, c), "tensors go up to 2147483647"));
  Node f = node("f", OpKind::Flatten, {0});
  EXPECT_TRUE(Contains(msg_for({40000, 40000, 2}, f), "elements; tensors go up to"));
  c.out_channels = 70000;
  EXPECT_TRUE(Contains(msg_for({8, 8, 1}, c), "out_channels 70000 is too large"));
  c.out_channels = 4;

  Node dw = node("dw", OpKind::DepthwiseConv2D, {0});
  dw.kernel_h = dw.kernel_w = 3;
  dw.depth_multiplier = 0;
  EXPECT_TRUE(Contains(msg_for({8, 8, 1}, dw), "depth_multiplier must be >= 1"));

  Node d = node("d", OpKind::Dense, {0});
  d.out_channels = 0;
  EXPECT_TRUE(Contains(msg_for({1, 1, 8}, d), "units must be >= 1"));

  Node p = node("p", OpKind::AvgPool, {0});
  p.kernel_h = p.kernel_w = 2;
  p.dilation_h = 2;
  EXPECT_TRUE(Contains(msg_for({8, 8, 1}, p), "pools do not support dilation"));

  Node bn = node("bn", OpKind::BatchNorm, {0});
  bn.bn_epsilon = 0;
  EXPECT_TRUE(Contains(msg_for({8, 8, 1}, bn), "epsilon must be > 0"));

  Node dr = node("drop", OpKind::Dropout, {0});
  dr.dropout_rate = 1.0f;
  EXPECT_TRUE(Contains(msg_for({8, 8, 1}, dr), "drop (dropout): rate must be in [0, 1)"));
  dr.dropout_rate = -0.1f;
  EXPECT_TRUE(Contains(msg_for({8, 8, 1}, dr), "rate must be in [0, 1)"));
}

TEST(ShapeErrors, OutputOutOfRange) {
  Graph g = graph_of({8, 8, 1}, {node("r", OpKind::ReLU, {0})});
  g.output = 5;
  EXPECT_TRUE(Contains(user_error_of([&] { g.infer_shapes(); }), "output index 5"));
  EXPECT_THROW(g.output_shape(), UserError);
}

TEST(ShapeErrors, BuilderRejectsBadNodeOnAppend) {
  GraphBuilder b("t", {3, 3, 1});
  EXPECT_THROW(b.conv(b.input(), 4, 5, 1, Padding::Valid, "too_big"), UserError);
  GraphBuilder b2("t", {7, 7, 4});
  EXPECT_THROW(b2.dense(b2.input(), 10, "fc"), UserError);
  EXPECT_THROW(GraphBuilder("t", {0, 1, 1}), UserError);
}

TEST(ShapeErrors, TooManyNodesIsAClearError) {
  GraphBuilder b("chain", {4, 4, 1});
  int x = 0;
  for (int k = 1; k < Graph::kMaxNodes; ++k) x = b.relu(x);
  EXPECT_EQ(b.finish().nodes.size(), size_t(Graph::kMaxNodes));
  EXPECT_TRUE(Contains(user_error_of([&] { b.relu(x); }), "nodes; mcuprune handles up to 10000"));
  // A model file with too many nodes: the same error from infer_shapes.
  Graph g = b.finish();
  g.nodes.push_back(g.nodes.back());
  g.nodes.back().name = "one_more";
  g.nodes.back().inputs = {x};
  EXPECT_TRUE(Contains(user_error_of([&] { g.infer_shapes(); }), "10001 nodes; mcuprune handles up to 10000"));
}

// A pool window lying wholly in the padding has nothing to take: each side's padding must be
// smaller than the window (explicit pads from an imported model).
TEST(ShapeErrors, PoolPaddingAsLargeAsTheWindowIsRefused) {
  for (OpKind kind : {OpKind::MaxPool, OpKind::AvgPool}) {
    Node p = node("p", kind, {0});
    p.kernel_h = p.kernel_w = 2;
    p.stride_h = p.stride_w = 2;
    p.padding = Padding::Explicit;
    p.pad_top = 2;
    Graph g = graph_of({8, 8, 1}, {p});
    const std::string msg = user_error_of([&] { g.infer_shapes(); });
    EXPECT_TRUE(Contains(msg, "padding (top 2, bottom 0, left 0, right 0) must be smaller than the 2x2 pool window")) << msg;
    g.nodes[1].pad_top = g.nodes[1].pad_bottom = g.nodes[1].pad_left = g.nodes[1].pad_right = 1;
    EXPECT_NO_THROW(g.infer_shapes());
  }
}

// The audio front end: its shape, where it may stand, its JSON form, and the graph without it.
TEST(FrontEnd, MfccShapePlaceJsonAndStripping) {
  MfccParams p;
  GraphBuilder b("kws", {1, 16000, 1});
  int x = b.mfcc(b.input(), p);
  EXPECT_EQ(b.shape(x), (Shape{49, 10, 1}));
  x = b.conv(x, 4, 3);
  b.dense(b.flatten(x), 12);
  Graph g = b.finish();
  EXPECT_EQ(g.front_end(), 1);
  EXPECT_EQ(g.feature_shape(), (Shape{49, 10, 1}));
  // JSON keeps every parameter.
  g.nodes[1].mfcc.coefficients = 13;
  g.nodes[1].mfcc.stride = 160;
  g.infer_shapes();
  Graph back = graph_from_json(graph_to_json(g), "t");
  EXPECT_EQ(back.nodes[1].mfcc.key(), g.nodes[1].mfcc.key());
  EXPECT_EQ(back.feature_shape(), (Shape{1 + (16000 - 480) / 160, 13, 1}));
  // Without it: the input is the features; with it again: the same graph.
  Graph net = without_front_end(g);
  EXPECT_EQ(net.front_end(), -1);
  EXPECT_EQ(net.input_shape(), g.feature_shape());
  EXPECT_EQ(net.nodes.size() + 1, g.nodes.size());
  EXPECT_EQ(graph_to_json(with_front_end(net, g.nodes[1].mfcc)).dump(), graph_to_json(g).dump());
  EXPECT_EQ(index_without_front_end(g, 1), 0);
  EXPECT_EQ(index_without_front_end(g, 3), 2);
  // Misplaced or misfed front ends are refused, naming the node.
  GraphBuilder c("bad", {16000, 1, 1});
  EXPECT_NE(user_error_of([&] { c.mfcc(c.input(), p); }).find("1 x samples x 1"), std::string::npos);
  GraphBuilder d("bad2", {1, 16000, 1});
  MfccParams wide = p;
  wide.fft = 256;  // shorter than the window
  EXPECT_NE(user_error_of([&] { d.mfcc(d.input(), wide); }).find("power of two"), std::string::npos);
  Graph late = g;
  late.nodes[2].inputs = {0};  // the conv reads the raw audio
  EXPECT_NE(user_error_of([&] { late.infer_shapes(); }).find("reads the raw audio input"), std::string::npos);
}

}  // namespace
}  // namespace mcuprune
