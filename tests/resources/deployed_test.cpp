// The deployment view (resources/deployed.h): folding of BatchNorm, fusion of ReLU,
// removal of Dropout, lone BatchNorm / ReLU ops, softmax placement, tensor consumers.
// Every expectation below is read off the graph by hand (the node and tensor indices are
// written out next to each graph).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/expect_error.h"
#include "graph/graph.h"
#include "resources/board.h"
#include "resources/deployed.h"
#include "resources/formulas.h"

namespace mcuprune {
namespace {

using test::Contains;
using test::user_error_of;
using V = std::vector<int>;

TEST(DeployView, ConvBatchNormReluIsOneOpAndDropoutDisappears) {
  // IR nodes: 0 input 8x8x3, 1 conv 3x3x4 same, 2 bn, 3 relu, 4 drop, 5 conv2 1x1x2.
  GraphBuilder b("fuse", {8, 8, 3});
  int conv = b.conv(0, 4, 3, 1, Padding::Same, "conv");
  int bn = b.batchnorm(conv, "bn");
  int relu = b.relu(bn, "relu");
  int drop = b.dropout(relu, 0.5f, "drop");
  int conv2 = b.conv(drop, 2, 1, 1, Padding::Valid, "conv2");
  Graph g = b.finish();
  ASSERT_EQ(conv2, 5);
  DeployedGraph d = deploy_view(g);

  // Ops: 0 = conv (+bn, +relu), 1 = conv2 reading the relu tensor (drop is gone).
  // Tensors: 0 input, 1 the conv/bn/relu value (named after the last fused node, "relu"),
  // 2 conv2 (the model output).
  ASSERT_EQ(d.ops.size(), 2u);
  ASSERT_EQ(d.tensors.size(), 3u);
  const DeployedOp& op0 = d.ops[0];
  EXPECT_EQ(op0.name, "conv");
  EXPECT_EQ(op0.kind, DeployedKind::Conv2D);
  EXPECT_STREQ(deployed_kind_name(op0.kind), "CONV_2D");
  EXPECT_EQ(op0.ir_node, conv);
  EXPECT_EQ(op0.fused, (V{bn, relu}));
  EXPECT_EQ(op0.activation, Activation::ReLU);
  EXPECT_EQ(op0.inputs, (V{0}));
  EXPECT_EQ(op0.output, 1);
  EXPECT_TRUE(op0.has_bias);

  const DeployedOp& op1 = d.ops[1];
  EXPECT_EQ(op1.name, "conv2");
  EXPECT_EQ(op1.kind, DeployedKind::Conv2D);
  EXPECT_TRUE(op1.fused.empty());
  EXPECT_EQ(op1.activation, Activation::None);
  EXPECT_EQ(op1.inputs, (V{1}));  // the dropout's consumer reads the producer's tensor
  EXPECT_EQ(op1.output, 2);

  EXPECT_EQ(d.tensors[0].name, "input");
  EXPECT_EQ(d.tensors[0].shape, (Shape{8, 8, 3}));
  EXPECT_EQ(d.tensors[0].producer, -1);
  EXPECT_EQ(d.tensors[0].consumers, (V{0}));
  EXPECT_TRUE(d.tensors[0].is_model_input);
  EXPECT_FALSE(d.tensors[0].is_model_output);
  EXPECT_EQ(d.tensors[1].name, "relu");
  EXPECT_EQ(d.tensors[1].shape, (Shape{8, 8, 4}));
  EXPECT_EQ(d.tensors[1].bytes(), 256);  // 8*8*4, int8
  EXPECT_EQ(d.tensors[1].producer, 0);
  EXPECT_EQ(d.tensors[1].consumers, (V{1}));
  EXPECT_EQ(d.tensors[2].name, "conv2");
  EXPECT_EQ(d.tensors[2].producer, 1);
  EXPECT_TRUE(d.tensors[2].consumers.empty());
  EXPECT_TRUE(d.tensors[2].is_model_output);
  EXPECT_EQ(d.input_tensor, 0);
  EXPECT_EQ(d.output_tensor, 2);

  // IR node -> tensor / op.  input:0/-1, conv,bn,relu: 1/0, drop: 1/-1, conv2: 2/1.
  EXPECT_EQ(d.tensor_of_node, (V{0, 1, 1, 1, 1, 2}));
  EXPECT_EQ(d.op_of_node, (V{-1, 0, 0, 0, -1, 1}));
  EXPECT_EQ(d.op_of_node[drop], -1);
  EXPECT_EQ(d.graph, &g);
}

TEST(DeployView, BatchNormAfterAddIsDepthwiseAndReluAfterPoolIsSeparate) {
  // IR: 0 input 8x8x4, 1 a (conv 1x1x4), 2 b (conv 1x1x4, also reads the input),
  // 3 add(a, b), 4 bn_add, 5 pool (max 2x2/2), 6 relu_pool.
  GraphBuilder b("lone", {8, 8, 4});
  int a = b.conv(0, 4, 1, 1, Padding::Valid, "a");
  int bb = b.conv(0, 4, 1, 1, Padding::Valid, "b");
  int add = b.add({a, bb}, "add");
  int bn = b.batchnorm(add, "bn_add");
  int pool = b.maxpool(bn, 2, 2, Padding::Valid, "pool");
  int relu = b.relu(pool, "relu_pool");
  Graph g = b.finish();
  DeployedGraph d = deploy_view(g);

  // Ops: 0 a, 1 b, 2 ADD, 3 bn_add as DEPTHWISE_CONV_2D (nothing to fold into),
  // 4 MAX_POOL_2D, 5 relu_pool as a standalone activation. Tensor k+1 is op k's output.
  ASSERT_EQ(d.ops.size(), 6u);
  ASSERT_EQ(d.tensors.size(), 7u);
  std::vector<DeployedKind> kinds;
  for (const auto& op : d.ops) kinds.push_back(op.kind);
  EXPECT_EQ(kinds, (std::vector<DeployedKind>{DeployedKind::Conv2D, DeployedKind::Conv2D,
                                              DeployedKind::Add, DeployedKind::DepthwiseConv2D,
                                              DeployedKind::MaxPool, DeployedKind::Activation}));
  EXPECT_EQ(d.ops[2].inputs, (V{1, 2}));
  EXPECT_TRUE(d.ops[2].fused.empty());
  EXPECT_FALSE(d.ops[2].has_bias);
  const DeployedOp& bnop = d.ops[3];
  EXPECT_EQ(bnop.name, "bn_add");
  EXPECT_EQ(bnop.ir_node, bn);
  EXPECT_TRUE(bnop.fused.empty());
  EXPECT_EQ(bnop.inputs, (V{3}));
  EXPECT_EQ(bnop.output, 4);
  EXPECT_TRUE(bnop.has_bias);  // the folded shift is the depthwise conv's bias
  EXPECT_STREQ(deployed_kind_name(bnop.kind), "DEPTHWISE_CONV_2D");
  EXPECT_EQ(d.ops[4].inputs, (V{4}));
  EXPECT_EQ(d.tensors[5].shape, (Shape{4, 4, 4}));
  const DeployedOp& act = d.ops[5];
  EXPECT_EQ(act.name, "relu_pool");
  EXPECT_EQ(act.ir_node, relu);
  EXPECT_EQ(act.activation, Activation::ReLU);
  EXPECT_EQ(act.inputs, (V{5}));
  EXPECT_STREQ(deployed_kind_name(act.kind), "RELU");
  EXPECT_EQ(d.ops[4].activation, Activation::None);  // not fused into the pool
  EXPECT_EQ(d.op_of_node[pool], 4);

  // Consumers: the input feeds a and b; a and b feed the add; then a chain.
  EXPECT_EQ(d.tensors[0].consumers, (V{0, 1}));
  EXPECT_EQ(d.tensors[1].consumers, (V{2}));
  EXPECT_EQ(d.tensors[2].consumers, (V{2}));
  EXPECT_EQ(d.tensors[3].consumers, (V{3}));
  EXPECT_EQ(d.tensors[4].consumers, (V{4}));
  EXPECT_EQ(d.tensors[5].consumers, (V{5}));
  EXPECT_TRUE(d.tensors[6].consumers.empty());
  EXPECT_TRUE(d.tensors[6].is_model_output);
  for (int t = 0; t < 6; ++t) EXPECT_FALSE(d.tensors[t].is_model_output) << t;

  // Free channel variables: the input and the two conv outputs (tensors 0, 1, 2); the
  // bn-as-depthwise, pool and relu inherit 4 channels.
  EXPECT_EQ(free_channel_tensors(d), (V{0, 1, 2}));
  EXPECT_EQ(exact_free_channels(d), (std::vector<int64_t>{4, 4, 4}));
  std::vector<int64_t> ch = propagate_channels(d, std::vector<int64_t>{4, 4, 4});
  EXPECT_EQ(ch, (std::vector<int64_t>{4, 4, 4, 4, 4, 4, 4}));
  // With other free values the add follows its first input, the rest follow the add.
  std::vector<int64_t> ch2 = propagate_channels(d, std::vector<int64_t>{4, 3, 3});
  EXPECT_EQ(ch2, (std::vector<int64_t>{4, 3, 3, 3, 3, 3, 3}));
}

TEST(DeployView, ReluAfterAddIsFusedIntoTheAdd) {
  GraphBuilder b("addrelu", {4, 4, 2});
  int a = b.conv(0, 2, 1, 1, Padding::Valid, "a");
  int c = b.conv(0, 2, 1, 1, Padding::Valid, "c");
  int add = b.add({a, c}, "add");
  int r = b.relu6(add, "r6");
  Graph g = b.finish();
  DeployedGraph d = deploy_view(g);
  ASSERT_EQ(d.ops.size(), 3u);
  EXPECT_EQ(d.ops[2].kind, DeployedKind::Add);
  EXPECT_EQ(d.ops[2].fused, (V{r}));
  EXPECT_EQ(d.ops[2].activation, Activation::ReLU6);
  EXPECT_EQ(d.tensors[3].name, "r6");
  EXPECT_EQ(d.tensor_of_node[r], d.tensor_of_node[add]);
}

TEST(DeployView, ReluWhoseProducerHasTwoConsumersIsNotFused) {
  // IR: 0 input 8x8x3, 1 c1 (conv 3x3x4), 2 r1 = relu(c1), 3 c2 = conv 1x1x4 (c1),
  // 4 sum = add(r1, c2). c1 has two consumers (r1, c2): its pre-activation value is needed,
  // so r1 is a separate RELU op.
  GraphBuilder b("twoconsumers", {8, 8, 3});
  int c1 = b.conv(0, 4, 3, 1, Padding::Same, "c1");
  int r1 = b.relu(c1, "r1");
  int c2 = b.conv(c1, 4, 1, 1, Padding::Valid, "c2");
  b.add({r1, c2}, "sum");
  Graph g = b.finish();
  DeployedGraph d = deploy_view(g);
  // Ops: 0 c1, 1 r1 (RELU), 2 c2, 3 sum. Tensors: 0 input, 1 c1, 2 r1, 3 c2, 4 sum.
  ASSERT_EQ(d.ops.size(), 4u);
  EXPECT_EQ(d.ops[0].kind, DeployedKind::Conv2D);
  EXPECT_TRUE(d.ops[0].fused.empty());
  EXPECT_EQ(d.ops[0].activation, Activation::None);
  EXPECT_EQ(d.ops[1].kind, DeployedKind::Activation);
  EXPECT_EQ(d.ops[1].ir_node, r1);
  EXPECT_EQ(d.ops[1].inputs, (V{1}));
  EXPECT_EQ(d.ops[2].inputs, (V{1}));
  EXPECT_EQ(d.ops[3].inputs, (V{2, 3}));
  EXPECT_EQ(d.tensors[1].name, "c1");
  EXPECT_EQ(d.tensors[1].consumers, (V{1, 2}));
  EXPECT_EQ(d.tensor_of_node[c2], 3);
}

TEST(DeployView, BatchNormIsNotFoldedAcrossAnActivationOrASharedTensor) {
  // conv -> relu -> bn: the conv already carries an activation, so bn cannot be folded.
  {
    GraphBuilder b("relu_bn", {4, 4, 2});
    int c = b.conv(0, 3, 1, 1, Padding::Valid, "c");
    int r = b.relu(c, "r");
    int bn = b.batchnorm(r, "bn");
    Graph g = b.finish();
    DeployedGraph d = deploy_view(g);
    ASSERT_EQ(d.ops.size(), 2u);
    EXPECT_EQ(d.ops[0].fused, (V{r}));
    EXPECT_EQ(d.ops[1].kind, DeployedKind::DepthwiseConv2D);
    EXPECT_EQ(d.ops[1].ir_node, bn);
  }
  // conv -> {bn, c2}: the conv's raw value is also read by c2.
  {
    GraphBuilder b("shared_bn", {4, 4, 2});
    int c = b.conv(0, 3, 1, 1, Padding::Valid, "c");
    int bn = b.batchnorm(c, "bn");
    int c2 = b.conv(c, 3, 1, 1, Padding::Valid, "c2");
    b.add({bn, c2}, "sum");
    Graph g = b.finish();
    DeployedGraph d = deploy_view(g);
    ASSERT_EQ(d.ops.size(), 4u);  // c, bn (depthwise), c2, sum
    EXPECT_TRUE(d.ops[0].fused.empty());
    EXPECT_EQ(d.ops[1].kind, DeployedKind::DepthwiseConv2D);
    EXPECT_EQ(d.ops[1].ir_node, bn);
    EXPECT_EQ(d.tensors[1].consumers, (V{1, 2}));
  }
}

TEST(DeployView, SoftmaxOnlyAsTheOutput) {
  {
    GraphBuilder b("mid", {4, 4, 2});
    int f = b.flatten(0, "flat");
    int fc = b.dense(f, 3, "fc");
    int sm = b.softmax(fc, "sm");
    b.dense(sm, 2, "fc2");
    Graph g = b.finish();
    std::string msg = user_error_of([&] { deploy_view(g); });
    EXPECT_TRUE(Contains(msg, "sm"));
    EXPECT_TRUE(Contains(msg, "softmax"));
    EXPECT_TRUE(Contains(msg, "output"));
  }
  {
    GraphBuilder b("end", {4, 4, 2});
    int f = b.flatten(0, "flat");
    int fc = b.dense(f, 3, "fc");
    b.softmax(fc, "sm");
    Graph g = b.finish();
    DeployedGraph d = deploy_view(g);
    // Ops: RESHAPE, FULLY_CONNECTED, SOFTMAX (never fused).
    ASSERT_EQ(d.ops.size(), 3u);
    EXPECT_STREQ(deployed_kind_name(d.ops[0].kind), "RESHAPE");
    EXPECT_STREQ(deployed_kind_name(d.ops[1].kind), "FULLY_CONNECTED");
    EXPECT_STREQ(deployed_kind_name(d.ops[2].kind), "SOFTMAX");
    EXPECT_TRUE(d.ops[1].fused.empty());
    EXPECT_FALSE(d.ops[0].has_bias);
    EXPECT_TRUE(d.ops[1].has_bias);
    EXPECT_EQ(d.output_tensor, 3);
    EXPECT_TRUE(d.tensors[3].is_model_output);
    EXPECT_EQ(d.tensors[1].shape, (Shape{1, 1, 32}));  // 4*4*2
  }
}

// Regression (fixed): a Dropout between a conv and its ReLU / BatchNorm blocks the fusion. Dropout is the
// identity at inference and "disappears" (deployed.h), so conv -> dropout -> relu should be
// one CONV_2D with the ReLU fused (as TFLite's converter produces), and conv -> dropout ->
// bn should fold the BN. deploy_view's sole_producer() looks at op_of_node[dropout], which
// is -1, so it deploys a separate RELU op (and a DEPTHWISE_CONV_2D for the BN), each with an
// extra activation tensor: here 2 ops / 3 tensors instead of 1 op / 2 tensors.
TEST(DeployView, FusionLooksThroughDropout) {
  {
    GraphBuilder b("drop_relu", {8, 8, 3});
    int c = b.conv(0, 4, 3, 1, Padding::Same, "conv");
    int dr = b.dropout(c, 0.2f, "drop");
    int r = b.relu(dr, "relu");
    Graph g = b.finish();
    DeployedGraph d = deploy_view(g);
    EXPECT_EQ(d.ops.size(), 1u);
    EXPECT_EQ(d.tensors.size(), 2u);
    EXPECT_EQ(d.ops[0].activation, Activation::ReLU);
    EXPECT_EQ(d.op_of_node[r], 0);
  }
  {
    GraphBuilder b("drop_bn", {8, 8, 3});
    int c = b.conv(0, 4, 3, 1, Padding::Same, "conv");
    int dr = b.dropout(c, 0.2f, "drop");
    int bn = b.batchnorm(dr, "bn");
    Graph g = b.finish();
    DeployedGraph d = deploy_view(g);
    EXPECT_EQ(d.ops.size(), 1u);
    EXPECT_EQ(d.op_of_node[bn], 0);
  }
}

// A node with explicit padding built by hand (GraphBuilder's helpers take SAME/VALID only).
int padded(GraphBuilder& b, OpKind kind, int x, int kernel, int stride, PadAmounts p, const std::string& name) {
  Node n;
  n.name = name;
  n.kind = kind;
  n.inputs = {x};
  n.out_channels = 4;
  n.kernel_h = n.kernel_w = kernel;
  n.stride_h = n.stride_w = stride;
  n.padding = Padding::Explicit;
  n.pad_top = p.top, n.pad_bottom = p.bottom, n.pad_left = p.left, n.pad_right = p.right;
  return b.append(n);
}

TEST(DeployView, TflitePadOperatorBeforeAConvWhosePaddingIsNotSame) {
  // IR: 0 input 8x8x2, 1 conv 3x3/2 pads 1 on every side (SAME would pad 0 top/left, 1
  // bottom/right: not equal) 4x4x4, 2 conv 3x3/1 pads 1 (equal to SAME) 4x4x4.
  GraphBuilder b("pad", {8, 8, 2});
  int c1 = padded(b, OpKind::Conv2D, 0, 3, 2, {1, 1, 1, 1}, "c1");
  int c2 = padded(b, OpKind::Conv2D, c1, 3, 1, {1, 1, 1, 1}, "c2");
  Graph g = b.finish();
  // Natively (mcuprune's runtime): two ops, the convs pad themselves.
  DeployedGraph native = deploy_view(g);
  ASSERT_EQ(native.ops.size(), 2u);
  EXPECT_FALSE(is_pad_op(native, 0));
  // TFLite: 0 PAD (input -> tensor 1, 10x10x2), 1 c1 reading it, 2 c2 (SAME: no PAD).
  // Tensors: 0 input, 1 c1.pad, 2 c1, 3 c2.
  DeployedGraph d = deploy_view(g, DeployOptions{true});
  ASSERT_EQ(d.ops.size(), 3u);
  ASSERT_EQ(d.tensors.size(), 4u);
  EXPECT_TRUE(is_pad_op(d, 0));
  EXPECT_STREQ(deployed_kind_name(d.ops[0].kind), "PAD");
  EXPECT_EQ(d.ops[0].name, "c1.pad");
  EXPECT_EQ(d.ops[0].ir_node, c1);
  EXPECT_EQ(d.ops[0].inputs, (V{0}));
  EXPECT_EQ(d.ops[0].output, 1);
  EXPECT_FALSE(d.ops[0].has_bias);
  EXPECT_EQ(d.tensors[1].name, "c1.pad");
  EXPECT_EQ(d.tensors[1].shape, (Shape{10, 10, 2}));
  EXPECT_EQ(d.tensors[1].consumers, (V{1}));
  EXPECT_EQ(d.ops[1].ir_node, c1);
  EXPECT_EQ(d.ops[1].inputs, (V{1}));
  EXPECT_EQ(d.ops[2].ir_node, c2);
  EXPECT_EQ(d.ops[2].inputs, (V{2}));
  EXPECT_EQ(d.op_of_node[size_t(c1)], 1);
  EXPECT_EQ(d.tensor_of_node[size_t(c1)], 2);
  // The formulas see the PAD as a copy of its 200 values holding a 32-byte paddings constant;
  // the conv after it is unpadded (no CMSIS-NN difference here), its MACs unchanged.
  RuntimeProfile rt = find_runtime("cmsis-nn");
  std::vector<int64_t> ch = propagate_channels(d, exact_free_channels(d));
  EXPECT_EQ(ch[1], 2);
  const OpCosts<int64_t> pad = op_costs(d, 0, ch, rt);
  EXPECT_EQ(pad.element_ops, 200);
  EXPECT_EQ(pad.weight_bytes, 32);
  EXPECT_EQ(pad.params, 0);
  EXPECT_EQ(op_costs(d, 1, ch, rt).macs, op_costs(native, 0, propagate_channels(native, exact_free_channels(native)), rt).macs);
}

TEST(DeployView, TflitePadBeforeAMaxPoolOnlyAfterAReluAndNeverBeforeAnAveragePool) {
  auto view_error = [](OpKind pool, bool relu) {
    GraphBuilder b("pool", {8, 8, 2});
    int x = b.conv(0, 4, 1, 1, Padding::Valid, "c");
    if (relu) x = b.relu(x, "r");
    padded(b, pool, x, 3, 2, {1, 1, 1, 1}, "p");
    Graph g = b.finish();
    EXPECT_NO_THROW(deploy_view(g));  // natively every case deploys
    try {
      DeployedGraph d = deploy_view(g, DeployOptions{true});
      EXPECT_EQ(d.ops.size(), 3u);  // conv (+relu), PAD, pool
      EXPECT_TRUE(is_pad_op(d, 1));
      EXPECT_EQ(d.tensors[size_t(d.ops[1].output)].shape, (Shape{10, 10, 4}));
      return std::string();
    } catch (const UserError& e) {
      return std::string(e.what());
    }
  };
  EXPECT_EQ(view_error(OpKind::MaxPool, true), "");
  const std::string negative = view_error(OpKind::MaxPool, false);
  EXPECT_TRUE(Contains(negative, "p (maxpool): explicit padding (top 1, bottom 1, left 1, right 1) cannot be written in TFLite"));
  EXPECT_TRUE(Contains(negative, "fills with real 0"));
  EXPECT_TRUE(Contains(negative, "--runtime mcuprune"));
  for (bool relu : {false, true}) {
    const std::string avg = view_error(OpKind::AvgPool, relu);
    EXPECT_TRUE(Contains(avg, "p (avgpool): explicit padding"));
    EXPECT_TRUE(Contains(avg, "AVERAGE_POOL_2D leaves padded cells out"));
  }
}

TEST(DeployView, TflitePadRefusesMaxPoolWindowsWhollyInThePadding) {
  GraphBuilder b("pool", {8, 8, 2});
  int x = b.relu(b.conv(0, 4, 1, 1, Padding::Valid, "c"), "r");
  // The last row of windows would be all padding: the graph itself refuses it, before any export.
  EXPECT_TRUE(Contains(user_error_of([&] { padded(b, OpKind::MaxPool, x, 2, 2, {0, 2, 0, 0}, "p"); }),
                       "must be smaller than the 2x2 pool window"));
}

}  // namespace
}  // namespace mcuprune
