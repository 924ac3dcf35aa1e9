// Quantisation-aware training: the fake-quantised forward pass rounds what the int8 model
// rounds, so its outputs match the integer reference; gradients still reach every weight.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "graph/zoo.h"
#include "nn/net.h"
#include "quant/fold.h"
#include "quant/quantize.h"

namespace mcuprune {
namespace {

// Zoo models at small width, folded as quantize folds them, with trained-like BN statistics.
FoldedModel folded_zoo(const std::string& name, Shape in, uint64_t seed) {
  ZooOptions o;
  o.input = in;
  o.classes = 10;
  o.width = 0.25;
  Graph g = zoo_build(name, o);
  torch::manual_seed(int64_t(seed));
  Net net(g);
  WeightMap w = net->weight_map();
  FoldedModel f = fold_for_inference(g, w);
  // One outlier per output channel makes the int8 rounding of the other weights coarse, so
  // that the int8 model differs clearly from the float one.
  for (const Node& n : f.graph.nodes)
    if (n.kind == OpKind::Conv2D || n.kind == OpKind::DepthwiseConv2D || n.kind == OpKind::Dense) {
      WeightTensor& t = f.weights.at(n.name + ".weight");
      const size_t inner = t.data.size() / size_t(n.out.c);
      for (size_t c = 0; c < size_t(n.out.c); ++c) t.data[c * inner] *= 30.0f;
    }
  return f;
}

// Samples [N, C, H, W] and the same samples as HWC vectors.
std::pair<torch::Tensor, std::vector<std::vector<float>>> samples(Shape in, int n, uint64_t seed) {
  torch::manual_seed(int64_t(seed));
  torch::Tensor x = torch::randn({n, in.c, in.h, in.w});
  std::vector<std::vector<float>> hwc;
  torch::Tensor p = x.permute({0, 2, 3, 1}).contiguous();
  for (int i = 0; i < n; ++i) {
    const float* d = p[i].data_ptr<float>();
    hwc.emplace_back(d, d + in.h * in.w * in.c);
  }
  return {x, hwc};
}

TEST(FakeQuant, MatchesTheIntegerReferenceOnZooModels) {
  for (const char* name : {"tinycnn", "vgg", "resnet8", "mobilenetv2"}) {
    const Shape in{28, 28, 1};
    FoldedModel f = folded_zoo(name, in, 3);
    auto [x, hwc] = samples(in, 16, 5);
    QuantizedModel q = quantize_model(f, hwc);
    Net net(f.graph);
    net->load_weight_map(f.weights, "folded");
    net->set_fake_quant(true);
    std::vector<double> lo, hi;  // the calibrated ranges
    for (const QuantParams& p : q.activations) {
      lo.push_back((-128 - p.zero_point) * double(p.scale));
      hi.push_back((127 - p.zero_point) * double(p.scale));
    }
    net->set_fake_quant_ranges(lo, hi);
    torch::NoGradGuard ng;
    net->eval();
    torch::Tensor fq = net->forward(x, true);
    net->set_fake_quant(false);
    torch::Tensor fl = net->forward(x, true);

    // The output node's int8 values, dequantised (logits: the node before a softmax).
    int out = f.graph.output;
    if (f.graph.nodes[size_t(out)].kind == OpKind::Softmax) out = f.graph.nodes[size_t(out)].inputs[0];
    const QuantParams& oq = q.activations[size_t(out)];
    double fq_err = 0, float_err = 0;
    int agree = 0;
    for (int i = 0; i < 16; ++i) {
      std::vector<int8_t> xq;
      for (float v : hwc[size_t(i)]) xq.push_back(q.activations[0].quantize(v));
      std::vector<int8_t> y = int8_forward(q, xq)[size_t(out)];
      ASSERT_EQ(int64_t(y.size()), fq.size(1)) << name;
      int64_t best_fq = fq[i].argmax().item<int64_t>(), best_q = std::max_element(y.begin(), y.end()) - y.begin();
      agree += best_fq == best_q;
      for (size_t c = 0; c < y.size(); ++c) {
        double ref = oq.dequantize(y[c]);
        fq_err = std::max(fq_err, std::fabs(fq[i][int64_t(c)].item<double>() - ref));
        float_err = std::max(float_err, std::fabs(fl[i][int64_t(c)].item<double>() - ref));
      }
    }
    // At least twice as close to the int8 model as the float model is (what remains is the
    // integer rounding of biases, multipliers and residual adds, compounded over depth).
    EXPECT_LE(2 * fq_err, float_err) << name << ": fake-quantised " << fq_err / oq.scale << " steps from int8, float "
                                     << float_err / oq.scale << " steps";
    EXPECT_GE(agree, 15) << name;
  }
}

TEST(FakeQuant, WeightsAreRoundedPerChannelAndGradientsFlow) {
  FoldedModel f = folded_zoo("tinycnn", {12, 12, 1}, 9);
  Net net(f.graph);
  net->load_weight_map(f.weights, "folded");
  net->set_fake_quant(true);
  net->train();
  auto [x, hwc] = samples({12, 12, 1}, 8, 2);
  torch::Tensor y = net->forward(x, true);
  y.pow(2).sum().backward();
  int with_grad = 0, params = 0;
  for (const auto& p : net->parameters()) {
    ++params;
    with_grad += p.grad().defined() && p.grad().abs().sum().item<double>() > 0;
  }
  EXPECT_EQ(with_grad, params);
  // Turning fake quantisation off gives back the float model exactly.
  net->set_fake_quant(false);
  net->eval();
  Net plain(f.graph);
  plain->load_weight_map(f.weights, "folded");
  plain->eval();
  torch::NoGradGuard ng;
  EXPECT_TRUE(torch::equal(net->forward(x, true), plain->forward(x, true)));
  // With it on, the outputs differ from float (something is rounded) but only slightly.
  net->set_fake_quant(true);
  net->train();
  net->forward(x, true);
  net->eval();
  torch::Tensor a = net->forward(x, true), b = plain->forward(x, true);
  EXPECT_FALSE(torch::equal(a, b));
  EXPECT_LE((a - b).abs().max().item<double>(), 0.1 * std::max(1.0, b.abs().max().item<double>()));
}

}  // namespace
}  // namespace mcuprune
