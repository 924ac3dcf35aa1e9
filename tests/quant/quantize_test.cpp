// int8 quantisation and the integer interpreter: hand-checked rounding cases, and for
// every operator a bound on |dequantised int8 - float| in output quantisation steps.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "graph/zoo.h"
#include "common/expect_error.h"
#include "common/random_model.h"
#include "quant/quantize.h"

namespace mcuprune {
namespace {

using test::random_weights;

std::vector<std::vector<float>> random_inputs(const Shape& s, int n, std::mt19937_64& rng) {
  std::vector<std::vector<float>> r(static_cast<size_t>(n));
  for (auto& x : r)
    for (int64_t k = 0; k < s.elements(); ++k) x.push_back(float(int(rng() % 2001) - 1000) / 500.0f);
  return r;
}

// Max |dequant(int8) - float| of the output, in output scale units, over the samples.
double max_error_lsb(const Graph& g, const WeightMap& w, int samples, uint64_t seed) {
  std::mt19937_64 rng(seed);
  FoldedModel f{g, w};
  auto inputs = random_inputs(g.input_shape(), samples, rng);
  QuantizedModel q = quantize_model(f, inputs);
  const QuantParams& in_p = q.activations[0];
  const QuantParams& out_p = q.activations[size_t(g.output)];
  double worst = 0;
  for (const auto& x : inputs) {
    // Compare with float inference on the *quantised* input, so input rounding is not counted.
    std::vector<int8_t> xq;
    std::vector<float> xd;
    for (float v : x) xq.push_back(in_p.quantize(v)), xd.push_back(in_p.dequantize(xq.back()));
    auto fy = float_forward(g, w, xd)[size_t(g.output)];
    auto qy = int8_forward(q, xq)[size_t(g.output)];
    for (size_t k = 0; k < fy.size(); ++k)
      worst = std::max(worst, double(std::fabs(out_p.dequantize(qy[k]) - fy[k]) / out_p.scale));
  }
  return worst;
}

TEST(Quantize, EachOperatorStaysWithinFewSteps) {
  std::mt19937_64 rng(3);
  struct Case {
    const char* what;
    Graph g;
    double bound;
  };
  std::vector<Case> cases;
  {
    GraphBuilder b("conv", {6, 6, 3});
    b.conv(b.input(), 4, 3, 2, Padding::Same, "c");
    cases.push_back({"conv same stride 2", b.finish(), 2.0});
  }
  {
    GraphBuilder b("convrelu", {6, 6, 3});
    Node n;
    n.kind = OpKind::Conv2D;
    n.name = "c";
    n.inputs = {0};
    n.out_channels = 5;
    n.kernel_h = n.kernel_w = 3;
    n.padding = Padding::Valid;
    n.activation = Activation::ReLU6;
    b.append(n);
    cases.push_back({"conv relu6", b.finish(), 2.0});
  }
  {
    GraphBuilder b("dw", {6, 6, 3});
    b.depthwise(b.input(), 3, 1, Padding::Same, "d");
    cases.push_back({"depthwise", b.finish(), 2.0});
  }
  {
    GraphBuilder b("dense", {1, 1, 12});
    b.dense(b.input(), 5, "fc");
    cases.push_back({"dense", b.finish(), 2.0});
  }
  {
    GraphBuilder b("pools", {6, 6, 2});
    int c = b.conv(b.input(), 3, 1, 1, Padding::Same, "c");
    b.avgpool(b.maxpool(c, 2, 2, Padding::Valid, "mp"), 2, 2, Padding::Same, "ap");
    cases.push_back({"conv maxpool avgpool", b.finish(), 3.0});
  }
  {
    GraphBuilder b("gap", {4, 4, 2});
    b.global_avgpool(b.conv(b.input(), 3, 3, 1, Padding::Same, "c"), "g");
    cases.push_back({"conv mean", b.finish(), 3.0});
  }
  {
    GraphBuilder b("add", {5, 5, 2});
    int c1 = b.conv(b.input(), 3, 1, 1, Padding::Same, "c1");
    int c2 = b.conv(b.input(), 3, 3, 1, Padding::Same, "c2");
    b.add({c1, c2}, "a");
    cases.push_back({"add", b.finish(), 3.0});
  }
  {
    GraphBuilder b("cat", {5, 5, 2});
    int c1 = b.conv(b.input(), 3, 1, 1, Padding::Same, "c1");
    int c2 = b.conv(b.input(), 2, 3, 1, Padding::Same, "c2");
    b.dense(b.flatten(b.concat({c1, c2}, "cat"), "f"), 4, "fc");
    cases.push_back({"concat flatten dense", b.finish(), 4.0});
  }
  for (auto& c : cases) {
    WeightMap w = random_weights(c.g, rng);
    double e = max_error_lsb(c.g, w, 16, rng());
    EXPECT_LE(e, c.bound) << c.what;
    EXPECT_GT(e, 0.0) << c.what << ": int8 and float cannot agree exactly everywhere";
  }
}

TEST(Quantize, IntegerPoolingRoundsLikeTflite) {
  GraphBuilder b("p", {1, 2, 1});
  Node ap;  // a 1x2 window over the 1x2 input
  ap.kind = OpKind::AvgPool;
  ap.name = "ap";
  ap.inputs = {0};
  ap.kernel_h = 1, ap.kernel_w = 2, ap.stride_h = 1, ap.stride_w = 2;
  b.append(ap);
  Graph g = b.finish();
  QuantizedModel q;
  q.graph = g;
  q.activations = {{0.1f, 0}, {0.1f, 0}};
  EXPECT_EQ(int8_forward(q, {1, 2})[1][0], 2);     // 1.5 -> 2
  EXPECT_EQ(int8_forward(q, {-1, -2})[1][0], -2);  // -1.5 -> -2
  EXPECT_EQ(int8_forward(q, {3, 4})[1][0], 4);     // 3.5 -> 4
  EXPECT_EQ(int8_forward(q, {-128, -127})[1][0], -128);
}

TEST(Quantize, ParamsQuantizeClampAndDequantize) {
  QuantParams p{0.5f, -10};
  EXPECT_EQ(p.quantize(1.0f), -8);
  EXPECT_EQ(p.quantize(1000.0f), 127);
  EXPECT_EQ(p.quantize(-1000.0f), -128);
  EXPECT_FLOAT_EQ(p.dequantize(-8), 1.0f);
}

TEST(Quantize, ZooModelsKeepTheirArgmaxMostly) {
  // Random weights, random inputs: the int8 model picks the float model's class on most
  // inputs (deep models accumulate error; this is a sanity bound, accuracy is in bench/).
  std::mt19937_64 rng(9);
  for (const char* m : {"tinycnn", "resnet8", "dscnn"}) {
    ZooOptions o;
    o.input = {16, 16, 1};
    o.classes = 4;
    Graph g = zoo_build(m, o);
    WeightMap w;
    for (const auto& [name, shape] : expected_weight_shapes(g)) {
      WeightTensor t;
      t.shape = shape;
      bool var = name.find("running_var") != std::string::npos || name.find("gamma") != std::string::npos;
      for (int64_t k = 0; k < t.numel(); ++k)
        t.data.push_back(var ? 1.0f : float(int(rng() % 2001) - 1000) / 4000.0f);
      w[name] = t;
    }
    FoldedModel f = fold_for_inference(g, w);
    auto inputs = random_inputs(g.input_shape(), 24, rng);
    QuantizedModel q = quantize_model(f, inputs);
    int agree = 0;
    for (const auto& x : inputs) {
      auto fy = float_forward(f.graph, f.weights, x)[size_t(f.graph.output)];
      std::vector<int8_t> xq;
      for (float v : x) xq.push_back(q.activations[0].quantize(v));
      auto qy = int8_forward(q, xq)[size_t(f.graph.output)];
      agree += std::max_element(fy.begin(), fy.end()) - fy.begin() == std::max_element(qy.begin(), qy.end()) - qy.begin();
    }
    EXPECT_GE(agree, 16) << m << ": " << agree << "/24";
  }
}

// Finite weights near float32's limit: the float forward pass overflows. It names the first
// node whose sum overflows (before a fused ReLU6 could clamp it to 6) and its largest |weight|;
// check_float_forward (import, model loading) says where; calibration refuses it too.
TEST(FloatForward, AnOverflowNamesTheNodeAndItsLargestWeight) {
  GraphBuilder b("huge", {4, 4, 2});
  int c1 = b.conv(b.input(), 3, 3, 1, Padding::Same, "c1");
  int c2 = b.relu6(b.conv(c1, 3, 3, 1, Padding::Same, "c2"), "act");
  b.dense(b.flatten(b.global_avgpool(c2)), 2, "fc");
  Graph g = b.finish();
  std::mt19937_64 rng(5);
  WeightMap w = random_weights(g, rng);
  const std::vector<float> ones(32, 1.0f);
  EXPECT_NO_THROW(float_forward(g, w, ones));
  EXPECT_NO_THROW(check_float_forward(g, w, "ok.bin"));
  for (float& v : w.at("c2.weight").data) v = 3e38f;
  const std::string msg = test::user_error_of([&] { float_forward(fold_for_inference(g, w).graph, fold_for_inference(g, w).weights, ones); });
  EXPECT_TRUE(test::Contains(msg, "c2 (conv2d): the float forward pass overflows float32 here (its largest |weight| is 3e+38)"));
  EXPECT_TRUE(test::Contains(test::user_error_of([&] { check_float_forward(g, w, "weights.bin"); }),
                             "weights.bin: c2 (conv2d): the float forward pass overflows"));
  EXPECT_TRUE(test::Contains(test::user_error_of([&] { quantize_model(fold_for_inference(g, w), {ones}); }),
                             "c2 (conv2d): the float forward pass overflows"));
  // A non-finite input is the input's fault, not a node's.
  std::vector<float> bad = ones;
  bad[3] = NAN;
  EXPECT_TRUE(test::Contains(test::user_error_of([&] { float_forward(g, w, bad); }), "input holds a NaN or infinite value"));
}

// BatchNorm folding multiplies by gamma / sqrt(var + eps): finite statistics can overflow it,
// into a conv or as a lone BatchNorm (a 1x1 depthwise); both are refused naming the BatchNorm.
TEST(FloatForward, BatchNormFoldingThatOverflowsIsRefused) {
  for (bool lone : {false, true}) {
    GraphBuilder b("bn", {4, 4, 2});
    int x = b.conv(b.input(), 3, 1, 1, Padding::Same, "c");
    if (lone) x = b.relu(x, "r");  // the BatchNorm then has no conv to fold into
    b.batchnorm(x, "bn");
    Graph g = b.finish();
    std::mt19937_64 rng(9);
    WeightMap w = random_weights(g, rng);
    w.at("bn.gamma").data.assign(3, 1e30f);
    w.at("bn.running_var").data.assign(3, 0.0f);
    g.nodes[size_t(g.find("bn"))].bn_epsilon = 1e-30f;
    EXPECT_TRUE(test::Contains(test::user_error_of([&] { fold_for_inference(g, w); }),
                               "bn (batchnorm): channel 0's scale gamma / sqrt(var + eps) = 1e+30 / sqrt(0 + 1e-30) overflows"));
    // Finite scale, but folded weights that overflow.
    w.at("bn.gamma").data.assign(3, 1e19f);
    w.at("bn.running_var").data.assign(3, 1e-20f);
    g.nodes[size_t(g.find("bn"))].bn_epsilon = 1e-20f;
    w.at("bn.beta").data.assign(3, 0.0f);
    w.at("bn.running_mean").data.assign(3, -1e20f);
    const std::string msg = test::user_error_of([&] { fold_for_inference(g, w); });
    EXPECT_TRUE(test::Contains(msg, "bn (batchnorm): folding it into '" + std::string(lone ? "bn" : "c") +
                                        "' makes a weight or bias overflow float32"));
  }
}

// Scales that overflow float32 while the float pass itself stays finite are refused naming the
// node, not turned into infinite scales or multipliers: an input range wider than float32's
// (values of -3e38 and 3e38), and weights of 3e38 reading an input that ranges to 1e30 only
// where those weights are zero (input scale ~4e27 times weight scale ~2.4e36).
TEST(Quantize, ScalesThatOverflowFloat32AreRefused) {
  GraphBuilder b("big", {2, 2, 1});
  b.dense(b.flatten(b.input()), 2, "fc");
  Graph g = b.finish();
  std::mt19937_64 rng(2);
  WeightMap w = random_weights(g, rng);
  const std::vector<float> zero(4, 0.0f);
  std::vector<float> wide = zero;
  wide[0] = -3e38f, wide[1] = 3e38f;
  for (float& v : w.at("fc.weight").data) v = 0.0f;  // the float pass stays finite
  std::string msg = test::user_error_of([&] { quantize_model(fold_for_inference(g, w), {zero, wide}); });
  EXPECT_TRUE(test::Contains(msg, "node 'input': its values range over")) << msg;
  EXPECT_TRUE(test::Contains(msg, "too wide for an int8 scale in float32")) << msg;

  auto& fw = w.at("fc.weight");  // [2 outputs, 4 inputs]
  for (size_t k = 0; k < fw.data.size(); ++k) fw.data[k] = k % 4 == 0 ? 0.0f : 3e38f;
  std::vector<float> x = zero;
  x[0] = 1e30f;
  msg = test::user_error_of([&] { quantize_model(fold_for_inference(g, w), {zero, x}); });
  EXPECT_TRUE(test::Contains(msg, "node 'fc': its weights (largest magnitude")) << msg;
  EXPECT_TRUE(test::Contains(msg, "are too large to quantise: a scale overflows float32")) << msg;
}

}  // namespace
}  // namespace mcuprune
