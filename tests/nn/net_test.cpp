// The LibTorch network follows the IR's semantics: TF "same" padding (odd pixel at the
// bottom/right), HWC flatten order, average pools that exclude padding, and a lossless
// weight map round trip. Expected values are worked out by hand in the comments.
#include <gtest/gtest.h>

#include <cmath>
#include <torch/torch.h>

#include "graph/channel_groups.h"
#include "graph/zoo.h"
#include "nn/net.h"

namespace mcuprune {
namespace {

// Sets every parameter to a constant and biases to zero.
void fill_weights(Net& net, float value) {
  WeightMap w = net->weight_map();
  for (auto& [name, t] : w) {
    bool bias = name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
    std::fill(t.data.begin(), t.data.end(), bias ? 0.0f : value);
  }
  net->load_weight_map(w, "test");
}

TEST(Net, SamePaddingStride2PutsOddPixelBottomRight) {
  // 4x4 input, 3x3 kernel of ones, stride 2, "same": out 2x2, total padding 1 per axis,
  // all of it at the bottom/right. Input x[h][w] = 1 everywhere.
  // out[0][0] sums rows 0..2, cols 0..2 = 9; out[1][1] sums rows 2..3 (+pad), cols 2..3 = 4.
  GraphBuilder b("t", {4, 4, 1});
  b.conv(b.input(), 1, 3, 2, Padding::Same, "c", false);
  Net net(b.finish());
  fill_weights(net, 1.0f);
  torch::NoGradGuard ng;
  torch::Tensor y = net->forward(torch::ones({1, 1, 4, 4}));
  ASSERT_EQ(y.numel(), 4);
  EXPECT_FLOAT_EQ(y[0][0].item<float>(), 9.0f);
  EXPECT_FLOAT_EQ(y[0][1].item<float>(), 6.0f);  // rows 0..2, cols 2..3
  EXPECT_FLOAT_EQ(y[0][2].item<float>(), 6.0f);
  EXPECT_FLOAT_EQ(y[0][3].item<float>(), 4.0f);
}

TEST(Net, FlattenUsesHwcOrder) {
  // Input 1x2x2 (HxWxC = 1,2,2). NCHW tensor: channel 0 = [1, 2], channel 1 = [10, 20].
  // HWC flatten: (w0,c0)=1, (w0,c1)=10, (w1,c0)=2, (w1,c1)=20.
  GraphBuilder b("t", {1, 2, 2});
  b.flatten(b.input(), "f");
  Net net(b.finish());
  torch::Tensor x = torch::tensor({1.0f, 2.0f, 10.0f, 20.0f}).view({1, 2, 1, 2});
  torch::Tensor y = net->forward(x);
  std::vector<float> got(y.data_ptr<float>(), y.data_ptr<float>() + 4);
  EXPECT_EQ(got, (std::vector<float>{1, 10, 2, 20}));
}

TEST(Net, AvgPoolSamePaddingExcludesPadding) {
  // 3x3 input of ones, 2x2 window, stride 2, same: out 2x2; every window averages only
  // real pixels, so every output is exactly 1 (a zero-counting pool would give 0.5/0.25).
  GraphBuilder b("t", {3, 3, 1});
  b.avgpool(b.input(), 2, 2, Padding::Same, "p");
  Net net(b.finish());
  torch::Tensor y = net->forward(torch::ones({1, 1, 3, 3}));
  ASSERT_EQ(y.numel(), 4);
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(y[0][i].item<float>(), 1.0f);
}

TEST(Net, MaxPoolSamePaddingIgnoresPadding) {
  // All inputs -5: a zero-padded max pool would return 0 at the border.
  GraphBuilder b("t", {3, 3, 1});
  b.maxpool(b.input(), 2, 2, Padding::Same, "p");
  Net net(b.finish());
  torch::Tensor y = net->forward(torch::full({1, 1, 3, 3}, -5.0f));
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(y[0][i].item<float>(), -5.0f);
}

TEST(Net, ResidualAddAndDepthwise) {
  // x (1 channel) -> depthwise 1x1 with weight 2 -> add with x: y = 3x.
  GraphBuilder b("t", {2, 2, 1});
  int d = b.depthwise(b.input(), 1, 1, Padding::Same, "dw", false);
  b.add({b.input(), d}, "a");
  Net net(b.finish());
  fill_weights(net, 2.0f);
  torch::Tensor y = net->forward(torch::full({1, 1, 2, 2}, 1.5f));
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(y[0][i].item<float>(), 4.5f);
}

TEST(Net, OutputShapesOfZooModels) {
  for (const auto& e : zoo_entries()) {
    ZooOptions o;
    o.input = {32, 32, 3};
    o.classes = 7;
    Net net(zoo_build(e.name, o));
    net->eval();
    torch::NoGradGuard ng;
    torch::Tensor y = net->forward(torch::randn({2, 3, 32, 32}));
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 7})) << e.name;
    // The LibTorch module owns exactly the IR's parameters (BN stats are buffers).
    int64_t n = 0;
    for (const auto& p : net->parameters()) n += p.numel();
    Graph g = zoo_build(e.name, o);
    int64_t bn_stats = (graph_params_with_bn(g) - graph_params(g)) / 2;
    EXPECT_EQ(n, graph_params(g) + bn_stats) << e.name;
  }
}

TEST(Net, WeightMapRoundTripIsExact) {
  ZooOptions o;
  o.input = {28, 28, 1};
  torch::manual_seed(3);
  Net a(zoo_build("resnet8", o));
  torch::manual_seed(4);
  Net b(zoo_build("resnet8", o));
  WeightMap wa = a->weight_map();
  ASSERT_NE(wa.at("conv1.weight").data, b->weight_map().at("conv1.weight").data);
  b->load_weight_map(wa, "test");
  WeightMap wb = b->weight_map();
  ASSERT_EQ(wa.size(), wb.size());
  for (const auto& [name, t] : wa) EXPECT_EQ(t.data, wb.at(name).data) << name;
}

// Node names with dots (as imported PyTorch models have: "features.0") build a Net; its
// parameters are registered by node index and ir_param_name maps them back to IR names.
TEST(Net, DottedNodeNamesBuildAndMapBack) {
  GraphBuilder b("dots", {8, 8, 1});
  int c = b.conv(b.input(), 4, 3, 1, Padding::Same, "features.0", false);
  c = b.batchnorm(c, "features.1");
  b.dense(b.flatten(b.global_avgpool(b.relu(c, "features.2"))), 3, "classifier.1");
  Graph g = b.finish();
  Net net(g);
  WeightMap w = net->weight_map();
  EXPECT_EQ(w.count("features.0.weight"), 1u);
  EXPECT_EQ(w.count("features.1.gamma"), 1u);
  EXPECT_EQ(w.count("classifier.1.bias"), 1u);
  bool saw_bn = false;
  for (const auto& p : net->named_parameters()) {
    const std::string ir = ir_param_name(g, p.key());
    EXPECT_EQ(w.count(ir), 1u) << p.key() << " -> " << ir;
    saw_bn = saw_bn || ir == "features.1.beta";
  }
  EXPECT_TRUE(saw_bn);
  net->load_weight_map(w, "test");
  torch::NoGradGuard ng;
  EXPECT_EQ(net->forward(torch::ones({2, 1, 8, 8})).numel(), 6);
}

// Channel padding (NetImpl(g, pad_to)): a model with odd widths through a residual add, a
// depthwise conv, a concat and a flatten into dense layers, trained padded to multiples of 8,
// computes what the exact net computes (forward, gradients, gated forward, a few Adam steps
// with weight decay), and its added channels stay exactly zero.
Graph odd_model() {
  GraphBuilder b("odd", {8, 8, 1});
  int c1 = b.relu(b.batchnorm(b.conv(b.input(), 5, 3, 1, Padding::Same, "c1", false), "bn1"), "r1");
  int c2 = b.conv(c1, 5, 3, 1, Padding::Same, "c2");
  int a = b.add({c1, c2}, "add");
  int dw = b.depthwise(a, 3, 1, Padding::Same, "dw");
  int c3 = b.conv(dw, 3, 1, 1, Padding::Same, "c3");
  int cat = b.concat({a, c3}, "cat");
  int c4 = b.relu(b.conv(cat, 7, 3, 2, Padding::Same, "c4"), "r4");
  int f1 = b.relu(b.dense(b.flatten(c4, "flat"), 5, "fc1"), "r5");
  b.dense(f1, 4, "logits");
  return b.finish();
}

double padded_abs_sum(Net& net) {
  double s = 0;
  for (const auto& p : net->parameters()) s += p.detach().abs().sum().item<double>();
  return s;
}

double exact_abs_sum(Net& net) {
  double s = 0;
  for (const auto& [name, t] : net->weight_map())
    if (name.find("running_") == std::string::npos)
      for (float v : t.data) s += std::fabs(double(v));
  return s;
}

TEST(NetPadding, PaddedNetComputesTheExactFunctionAndItsPaddingStaysZero) {
  const Graph g = odd_model();
  torch::manual_seed(7);
  Net exact(g);
  Net padded(g, 8);
  EXPECT_EQ(exact->padding_channels(), 0);
  // Groups: c1/c2/add/dw 5 -> 8, c3 3 -> 8, c4 7 -> 8, fc1 5 -> 8 (logits keep 4).
  EXPECT_EQ(padded->padding_channels(), 3 + 5 + 1 + 3);
  EXPECT_EQ(padded->graph().nodes[size_t(g.find("c1"))].out.c, 5);  // the outside sees the exact graph
  const WeightMap w = exact->weight_map();
  padded->load_weight_map(w, "test");
  const WeightMap back = padded->weight_map();
  ASSERT_EQ(back.size(), w.size());
  for (const auto& [name, t] : w) {
    EXPECT_EQ(back.at(name).shape, t.shape) << name;
    EXPECT_EQ(back.at(name).data, t.data) << name;
  }
  torch::manual_seed(8);
  const torch::Tensor x = torch::randn({6, 1, 8, 8});
  const torch::Tensor dy = torch::randn({6, 4});
  for (bool training : {false, true}) {
    exact->train(training);
    padded->train(training);
    torch::Tensor ye = exact->forward(x), yp = padded->forward(x);
    EXPECT_LT((ye - yp).abs().max().item<double>(), 1e-5) << training;
  }
  // Gradients of the same loss, compared in the exact shapes; none on the added channels.
  exact->zero_grad();
  padded->zero_grad();
  (exact->forward(x) * dy).sum().backward();
  (padded->forward(x) * dy).sum().backward();
  auto pe = exact->named_parameters(), pp = padded->named_parameters();
  for (const auto& item : pe) {
    const std::string name = ir_param_name(g, item.key());
    const WeightTensor ge = exact->to_exact(name, item.value().grad());
    const torch::Tensor gp_full = pp[item.key()].grad();
    const WeightTensor gp = padded->to_exact(name, gp_full);
    ASSERT_EQ(ge.data.size(), gp.data.size()) << name;
    double worst = 0, exact_sum = 0;
    for (size_t k = 0; k < ge.data.size(); ++k) {
      worst = std::max(worst, double(std::fabs(ge.data[k] - gp.data[k])));
      exact_sum += std::fabs(double(gp.data[k]));
    }
    EXPECT_LT(worst, 1e-4) << name;
    EXPECT_NEAR(gp_full.abs().sum().item<double>(), exact_sum, 1e-6 * (1 + exact_sum)) << name << ": gradient on an added channel";
  }
  // Gates in the exact widths act on the padded net as on the exact one.
  ChannelGroups cg = find_channel_groups(g);
  std::vector<torch::Tensor> masks(cg.groups.size());
  for (const ChannelGroup& grp : cg.groups)
    if (grp.prunable) masks[size_t(grp.id)] = torch::rand({grp.channels});
  exact->set_gates(cg, masks);
  padded->set_gates(cg, masks);
  exact->eval();
  padded->eval();
  {
    torch::NoGradGuard ng;
    EXPECT_LT((exact->forward(x) - padded->forward(x)).abs().max().item<double>(), 1e-5);
  }
  exact->clear_gates();
  padded->clear_gates();
  // Adam with weight decay: the two nets stay together and the padding stays zero.
  exact->train();
  padded->train();
  torch::optim::Adam oe(exact->parameters(), torch::optim::AdamOptions(0.01).weight_decay(1e-3));
  torch::optim::Adam op(padded->parameters(), torch::optim::AdamOptions(0.01).weight_decay(1e-3));
  for (int step = 0; step < 5; ++step) {
    oe.zero_grad();
    op.zero_grad();
    (exact->forward(x) * dy).sum().backward();
    (padded->forward(x) * dy).sum().backward();
    oe.step();
    op.step();
  }
  const WeightMap we = exact->weight_map(), wp = padded->weight_map();
  for (const auto& [name, t] : we)
    for (size_t k = 0; k < t.data.size(); ++k) ASSERT_NEAR(wp.at(name).data[k], t.data[k], 1e-3) << name << "[" << k << "]";
  EXPECT_NEAR(padded_abs_sum(padded), exact_abs_sum(padded), 1e-6 * exact_abs_sum(padded));
}

// The layout rule: channels-last where every spatial tensor but the image has a multiple of 8
// channels (padding included), NCHW elsewhere; and the result does not depend on the strides
// the input batch comes with (a one-channel batch fits both layouts).
TEST(NetLayout, ChannelsLastExactlyWhereEverySpatialWidthIsAMultipleOfEight) {
  ZooOptions o;
  o.input = {28, 28, 1};
  o.classes = 10;
  EXPECT_TRUE(prefers_channels_last(zoo_build("vgg", o)));  // 16, 32, 64, ... channels
  EXPECT_TRUE(prefers_channels_last(zoo_build("mobilenetv2", o)));
  o.width = 0.3;  // odd widths
  const Graph odd_vgg = zoo_build("vgg", o);
  EXPECT_FALSE(prefers_channels_last(odd_vgg));
  // One odd tensor is enough for NCHW; [N, C, 1, 1] tensors (dense, global pool) do not count.
  GraphBuilder b("t", {8, 8, 3});
  int c = b.conv(b.input(), 16, 3, 1, Padding::Same, "c1");
  c = b.global_avgpool(c, "gap");
  b.dense(c, 5, "fc");
  EXPECT_TRUE(prefers_channels_last(b.finish()));
  const Graph g = odd_model();
  EXPECT_FALSE(Net(g)->channels_last());
  EXPECT_EQ(Net(g)->layout(), "NCHW");
  EXPECT_TRUE(Net(g, 8)->channels_last());  // padded to 8: the same function, channels-last
  EXPECT_EQ(Net(g, 8)->layout(), "channels-last");
  // A dense network has no spatial tensor to lay out: its input passes as it comes.
  GraphBuilder d("d", {4, 4, 1});
  d.dense(d.flatten(d.input(), "flat"), 3, "fc");
  Net dense(d.finish());
  const torch::Tensor x = torch::randn({2, 4, 4, 1}).permute({0, 3, 1, 2});
  EXPECT_TRUE(dense->lay_out(x).is_same(x));
}

TEST(NetLayout, TheInputsStridesDoNotChangeTheResult) {
  torch::manual_seed(3);
  // An NHWC batch permuted to NCHW, as batches are made, and the same values with NCHW strides.
  const torch::Tensor nhwc = torch::randn({4, 8, 8, 1}).permute({0, 3, 1, 2});
  const torch::Tensor nchw = nhwc.clone(at::MemoryFormat::Contiguous);
  ASSERT_TRUE(torch::equal(nchw, nhwc));
  ASSERT_NE(nchw.strides(), nhwc.strides());
  for (int pad : {1, 8}) {
    torch::manual_seed(4);
    Net net(odd_model(), pad);
    // Both batches are laid out as the net's layout says (odd widths: NCHW; padded: channels-last).
    const auto want = pad == 8 ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
    for (const torch::Tensor& x : {nchw, nhwc}) {
      const torch::Tensor l = net->lay_out(x);
      EXPECT_TRUE(l.is_contiguous(want)) << "pad " << pad;
      EXPECT_EQ(l.suggest_memory_format(), want) << "pad " << pad;
    }
    for (bool training : {false, true}) {
      net->train(training);
      const torch::Tensor a = net->forward(nchw), b = net->forward(nhwc);
      EXPECT_TRUE(torch::equal(a, b)) << "pad " << pad << (training ? ", training" : ", eval");
    }
  }
}

TEST(NetGates, FoldingPutsTheGatesIntoTheWeights) {
  // Gates on every prunable group (convolutions, a residual add, a depthwise layer and a
  // dense layer read them): after fold_gates the net without gates computes what the gated
  // net computed, in the exact and in the padded net, and the padding stays zero.
  const Graph g = odd_model();
  ChannelGroups cg = find_channel_groups(g);
  torch::manual_seed(11);
  std::vector<torch::Tensor> masks(cg.groups.size());
  for (const ChannelGroup& grp : cg.groups)
    if (grp.prunable) masks[size_t(grp.id)] = 0.2 + 0.8 * torch::rand({grp.channels});
  const torch::Tensor x = torch::randn({6, 1, 8, 8});
  torch::manual_seed(7);
  const WeightMap start = Net(g)->weight_map();
  for (int pad : {1, 8}) {
    Net net(g, pad);
    net->load_weight_map(start, "test");  // the padding zero, as a padded run keeps it
    net->eval();
    torch::NoGradGuard ng;
    const torch::Tensor plain = net->forward(x);
    net->set_gates(cg, masks);
    const torch::Tensor gated = net->forward(x);
    ASSERT_GT((gated - plain).abs().max().item<double>(), 1e-3) << "the gates must change the output";
    net->fold_gates();
    net->clear_gates();
    EXPECT_LT((net->forward(x) - gated).abs().max().item<double>(), 1e-5) << "pad " << pad;
    EXPECT_NEAR(padded_abs_sum(net), exact_abs_sum(net), 1e-4 * (1 + exact_abs_sum(net))) << "pad " << pad;
    net->fold_gates();  // no gates: nothing changes
    EXPECT_LT((net->forward(x) - gated).abs().max().item<double>(), 1e-5);
  }
}

}  // namespace
}  // namespace mcuprune
