// BatchNorm folding: for y = gamma * (W x + b - mean) / sqrt(var + eps) + beta,
// W' = W * s and b' = (b - mean) * s + beta with s = gamma / sqrt(var + eps), per output
// channel.
#include "quant/fold.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace mcuprune {

namespace {

bool has_weights(OpKind k) { return k == OpKind::Conv2D || k == OpKind::DepthwiseConv2D || k == OpKind::Dense; }

std::string number(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3g", v);
  return b;
}

// Folding multiplies weights by gamma / sqrt(var + eps) and shifts biases: finite inputs can
// still overflow float32 there.
void check_folded(const std::string& bn, const std::string& into, const WeightTensor& w, const WeightTensor& b) {
  for (const WeightTensor* t : {&w, &b})
    for (float v : t->data)
      if (!std::isfinite(v))
        throw UserError(bn + " (batchnorm): folding it into '" + into +
                        "' makes a weight or bias overflow float32 (its scale or shift is too large for these "
                        "weights); check the model's BatchNorm statistics");
}

}  // namespace

FoldedModel fold_for_inference(const Graph& g, const WeightMap& w) {
  check_weights_match(g, w, "weights to fold");
  FoldedModel f;
  Graph& out = f.graph;
  out.name = g.name;
  out.normalization = g.normalization;
  out.class_names = g.class_names;
  out.onnx_io = g.onnx_io;
  const int n = int(g.nodes.size());
  std::vector<int> map(size_t(n), -1);  // old node -> new node holding its value
  auto consumers = g.consumers();
  // Whether the value of old node `src`, read by old node `reader`, reaches nothing else
  // (through dropouts) and is not the model output: then `reader` may fold into it.
  auto sole_reader = [&](int reader) {
    int src = g.nodes[size_t(reader)].inputs[0];
    while (true) {
      if (consumers[size_t(src)].size() != 1 || src == g.output) return false;
      if (g.nodes[size_t(src)].kind != OpKind::Dropout) return true;
      src = g.nodes[size_t(src)].inputs[0];
    }
  };
  auto copy_node = [&](int i) {
    Node nd = g.nodes[size_t(i)];
    for (int& in : nd.inputs) in = map[size_t(in)];
    out.nodes.push_back(nd);
    map[size_t(i)] = int(out.nodes.size()) - 1;
    for (const char* p : {".weight", ".bias"}) {
      auto it = w.find(nd.name + p);
      if (it != w.end()) f.weights[nd.name + p] = it->second;
    }
  };
  for (int i = 0; i < n; ++i) {
    const Node& nd = g.nodes[size_t(i)];
    switch (nd.kind) {
      case OpKind::Dropout:
        map[size_t(i)] = map[size_t(nd.inputs[0])];
        break;
      case OpKind::BatchNorm: {
        const auto& gamma = w.at(nd.name + ".gamma").data;
        const auto& beta = w.at(nd.name + ".beta").data;
        const auto& mean = w.at(nd.name + ".running_mean").data;
        const auto& var = w.at(nd.name + ".running_var").data;
        const int c = nd.out.c;
        std::vector<float> scale(static_cast<size_t>(c));
        for (int k = 0; k < c; ++k) {
          scale[size_t(k)] = float(gamma[size_t(k)] / std::sqrt(double(var[size_t(k)]) + nd.bn_epsilon));
          if (!std::isfinite(scale[size_t(k)]))
            throw UserError(nd.name + " (batchnorm): channel " + std::to_string(k) + "'s scale gamma / sqrt(var + eps) = " +
                            number(gamma[size_t(k)]) + " / sqrt(" + number(var[size_t(k)]) + " + " + number(nd.bn_epsilon) +
                            ") overflows float32; its statistics are broken (re-export or retrain the model)");
        }
        int src = map[size_t(nd.inputs[0])];
        Node* p = &out.nodes[size_t(src)];
        if (sole_reader(i) && has_weights(p->kind) && p->activation == Activation::None) {
          WeightTensor& wt = f.weights.at(p->name + ".weight");
          const int64_t inner = wt.numel() / c;
          for (int k = 0; k < c; ++k)
            for (int64_t e = 0; e < inner; ++e) wt.data[size_t(k * inner + e)] *= scale[size_t(k)];
          WeightTensor bias;
          bias.shape = {c};
          bias.data.assign(size_t(c), 0.0f);
          if (p->use_bias) bias = f.weights.at(p->name + ".bias");
          for (int k = 0; k < c; ++k)
            bias.data[size_t(k)] = (bias.data[size_t(k)] - mean[size_t(k)]) * scale[size_t(k)] + beta[size_t(k)];
          f.weights[p->name + ".bias"] = bias;
          p->use_bias = true;
          map[size_t(i)] = src;
          check_folded(nd.name, p->name, wt, f.weights[p->name + ".bias"]);
        } else {
          // Nothing to fold into: a per-channel scale and shift, i.e. a 1x1 depthwise conv.
          Node dw;
          dw.name = nd.name;
          dw.kind = OpKind::DepthwiseConv2D;
          dw.inputs = {src};
          dw.padding = Padding::Valid;
          out.nodes.push_back(dw);
          map[size_t(i)] = int(out.nodes.size()) - 1;
          WeightTensor wt, bias;
          wt.shape = {c, 1, 1, 1};
          wt.data = scale;
          bias.shape = {c};
          for (int k = 0; k < c; ++k) bias.data.push_back(beta[size_t(k)] - mean[size_t(k)] * scale[size_t(k)]);
          check_folded(nd.name, dw.name, wt, bias);
          f.weights[dw.name + ".weight"] = wt;
          f.weights[dw.name + ".bias"] = bias;
        }
        break;
      }
      case OpKind::ReLU:
      case OpKind::ReLU6: {
        int src = map[size_t(nd.inputs[0])];
        Node& p = out.nodes[size_t(src)];
        bool fusable = has_weights(p.kind) || p.kind == OpKind::Add;
        if (sole_reader(i) && fusable && p.activation == Activation::None) {
          p.activation = nd.kind == OpKind::ReLU ? Activation::ReLU : Activation::ReLU6;
          map[size_t(i)] = src;
        } else {
          copy_node(i);
        }
        break;
      }
      default:
        copy_node(i);
        break;
    }
  }
  out.output = map[size_t(g.output)];
  // Names of fused nodes are gone; keep the output last so "output = last node" holds.
  out.infer_shapes();
  check_weights_match(out, f.weights, "folded weights");
  return f;
}

}  // namespace mcuprune
