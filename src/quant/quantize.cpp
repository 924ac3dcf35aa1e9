// Float reference interpreter, calibration, int8 quantisation and the integer interpreter.
#include "quant/quantize.h"

#include "quant/runtime_ops.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <type_traits>

namespace mcuprune {

namespace {

float act_float(float x, Activation a) {
  if (a == Activation::ReLU) return std::max(0.0f, x);
  if (a == Activation::ReLU6) return std::min(6.0f, std::max(0.0f, x));
  return x;
}

int8_t clamp8(int32_t v, int32_t lo = -128, int32_t hi = 127) { return int8_t(std::min(hi, std::max(lo, v))); }

// Nodes whose output keeps its input's quantisation (TFLite requires equal parameters).
bool shares_input_params(OpKind k) {
  return k == OpKind::MaxPool || k == OpKind::AvgPool || k == OpKind::GlobalAvgPool || k == OpKind::Flatten ||
         k == OpKind::Dropout || k == OpKind::ReLU || k == OpKind::ReLU6;
}

struct Window {
  int kh, kw, sh, sw, dh, dw;
  PadAmounts pad;
};

Window window_of(const Node& n, const Shape& in) {
  bool conv = n.kind == OpKind::Conv2D || n.kind == OpKind::DepthwiseConv2D;
  return {n.kernel_h, n.kernel_w, n.stride_h, n.stride_w, conv ? n.dilation_h : 1, conv ? n.dilation_w : 1,
          Graph::pad_amounts(n, in)};
}

// Calls tap(ky, kx, input pixel index) for every window position of output pixel
// (oh, ow) that falls inside the input; padded positions are skipped (they hold the
// real value 0 for convolutions and are excluded from pools).
template <class F>
void for_each_tap(const Window& k, const Shape& is, int oh, int ow, F&& tap) {
  for (int ky = 0; ky < k.kh; ++ky) {
    const int ih = oh * k.sh - k.pad.top + ky * k.dh;
    if (ih < 0 || ih >= is.h) continue;
    for (int kx = 0; kx < k.kw; ++kx) {
      const int iw = ow * k.sw - k.pad.left + kx * k.dw;
      if (iw >= 0 && iw < is.w) tap(ky, kx, ih * is.w + iw);
    }
  }
}

// Index of weight (oc, ic, ky, kx) in OIHW (conv) or [C*m, 1, kh, kw] (depthwise) layout.
inline int weight_index(bool depthwise, const Window& k, int in_c, int oc, int ic, int ky, int kx) {
  return depthwise ? (oc * k.kh + ky) * k.kw + kx : ((oc * in_c + ic) * k.kh + ky) * k.kw + kx;
}

std::string number(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3g", v);
  return b;
}

// Why node i's float output is not finite: its weights, or (without weights) its inputs.
std::string overflow_message(const Graph& g, const WeightMap& w, int i) {
  const Node& n = g.nodes[size_t(i)];
  float largest = 0;
  bool weighted = false;
  for (const char* part : {".weight", ".bias"}) {
    auto it = w.find(n.name + part);
    if (it == w.end()) continue;
    weighted = true;
    for (float v : it->second.data) largest = std::max(largest, std::fabs(v));
  }
  return n.name + " (" + op_kind_name(n.kind) + "): the float forward pass overflows float32 here (" +
         (weighted ? "its largest |weight| is " + number(largest) : std::string("it has no weights: its inputs are too large")) +
         "); weights this large cannot be computed with, nor quantised: check how the model was exported or trained";
}

// A sum as float32, which it must fit before any fused activation clamps it: an overflow
// there is one in every float32 runtime too (and no int8 requantisation could express it).
float finite(double sum, const Graph& g, const WeightMap& w, int i) {
  const float f = float(sum);
  if (!std::isfinite(f)) throw UserError(overflow_message(g, w, i));
  return f;
}

template <class T>
std::vector<std::vector<T>> start_values(const Graph& g, const std::vector<T>& input, const char* what) {
  // With an audio front end the host runs from the features (the front end passes them on).
  if (int64_t(input.size()) != g.feature_shape().elements())
    throw UserError(std::string(what) + " input has " + std::to_string(input.size()) +
                    " values, the model expects " + g.feature_shape().str());
  if constexpr (std::is_floating_point_v<T>)
    for (T x : input)
      if (!std::isfinite(x)) throw UserError(std::string(what) + " input holds a NaN or infinite value");
  std::vector<std::vector<T>> v(g.nodes.size());
  v[0] = input;
  return v;
}

}  // namespace

QuantizedModel without_front_end(const QuantizedModel& q) {
  const Graph& g = q.graph;
  if (g.front_end() < 0) return q;
  QuantizedModel r;
  r.graph = without_front_end(g);
  r.activations = q.activations;
  r.activations.erase(r.activations.begin());  // the input takes the features' parameters
  for (const auto& [i, layer] : q.layers) r.layers[index_without_front_end(g, i)] = layer;
  return r;
}

int8_t QuantParams::quantize(float x) const {
  return clamp8(int32_t(std::lround(x / scale)) + zero_point);
}

std::vector<std::vector<float>> float_forward(const Graph& g, const WeightMap& w, const std::vector<float>& input) {
  const int n = int(g.nodes.size());
  std::vector<std::vector<float>> v = start_values(g, input, "float");
  for (int i = 1; i < n; ++i) {
    const Node& nd = g.nodes[size_t(i)];
    const Shape& is = g.nodes[size_t(nd.inputs[0])].out;
    const Shape& os = nd.out;
    const std::vector<float>& a = v[size_t(nd.inputs[0])];
    std::vector<float> y(size_t(os.elements()), 0.0f);
    switch (nd.kind) {
      case OpKind::Conv2D:
      case OpKind::DepthwiseConv2D: {
        const auto& W = w.at(nd.name + ".weight").data;
        const float* bias = nd.use_bias ? w.at(nd.name + ".bias").data.data() : nullptr;
        Window k = window_of(nd, is);
        const bool dw = nd.kind == OpKind::DepthwiseConv2D;
        const int m = dw ? nd.depth_multiplier : 1;
        for (int oh = 0; oh < os.h; ++oh)
          for (int ow = 0; ow < os.w; ++ow)
            for (int oc = 0; oc < os.c; ++oc) {
              double acc = bias ? bias[oc] : 0.0;
              const int ic0 = dw ? oc / m : 0, ic1 = dw ? oc / m + 1 : is.c;
              for_each_tap(k, is, oh, ow, [&](int ky, int kx, int pix) {
                for (int ic = ic0; ic < ic1; ++ic)
                  acc += double(a[size_t(pix * is.c + ic)]) * W[size_t(weight_index(dw, k, is.c, oc, ic, ky, kx))];
              });
              y[size_t((oh * os.w + ow) * os.c + oc)] = act_float(finite(acc, g, w, i), nd.activation);
            }
        break;
      }
      case OpKind::Dense: {
        const auto& W = w.at(nd.name + ".weight").data;
        const float* bias = nd.use_bias ? w.at(nd.name + ".bias").data.data() : nullptr;
        for (int o = 0; o < os.c; ++o) {
          double acc = bias ? bias[o] : 0.0;
          for (int k = 0; k < is.c; ++k) acc += double(a[size_t(k)]) * W[size_t(o * is.c + k)];
          y[size_t(o)] = act_float(finite(acc, g, w, i), nd.activation);
        }
        break;
      }
      case OpKind::BatchNorm:
        throw UserError(nd.name + " (batchnorm): fold BatchNorm before quantisation");
      case OpKind::ReLU:
      case OpKind::ReLU6:
        for (size_t k = 0; k < y.size(); ++k)
          y[k] = act_float(a[k], nd.kind == OpKind::ReLU ? Activation::ReLU : Activation::ReLU6);
        break;
      case OpKind::Dropout:
      case OpKind::Flatten:  // HWC data is already in flatten order
        y = a;
        break;
      case OpKind::MaxPool:
      case OpKind::AvgPool: {
        Window k = window_of(nd, is);
        for (int oh = 0; oh < os.h; ++oh)
          for (int ow = 0; ow < os.w; ++ow)
            for (int c = 0; c < os.c; ++c) {
              double acc = nd.kind == OpKind::MaxPool ? -std::numeric_limits<double>::infinity() : 0.0;
              int count = 0;
              for_each_tap(k, is, oh, ow, [&](int, int, int pix) {
                double x = a[size_t(pix * is.c + c)];
                acc = nd.kind == OpKind::MaxPool ? std::max(acc, x) : acc + x;
                ++count;
              });
              y[size_t((oh * os.w + ow) * os.c + c)] = float(nd.kind == OpKind::MaxPool ? acc : acc / count);
            }
        break;
      }
      case OpKind::GlobalAvgPool:
        for (int c = 0; c < is.c; ++c) {
          double acc = 0;
          for (int p = 0; p < is.h * is.w; ++p) acc += a[size_t(p * is.c + c)];
          y[size_t(c)] = float(acc / (is.h * is.w));
        }
        break;
      case OpKind::Add:
        for (size_t k = 0; k < y.size(); ++k) {
          double s = 0;
          for (int in : nd.inputs) s += v[size_t(in)][k];
          y[k] = act_float(finite(s, g, w, i), nd.activation);
        }
        break;
      case OpKind::Concat: {
        int off = 0;
        for (int in : nd.inputs) {
          const Shape& s = g.nodes[size_t(in)].out;
          for (int p = 0; p < s.h * s.w; ++p)
            for (int c = 0; c < s.c; ++c) y[size_t(p * os.c + off + c)] = v[size_t(in)][size_t(p * s.c + c)];
          off += s.c;
        }
        break;
      }
      case OpKind::Softmax: {
        float mx = *std::max_element(a.begin(), a.end());
        double sum = 0;
        for (size_t k = 0; k < a.size(); ++k) sum += std::exp(double(a[k] - mx));
        for (size_t k = 0; k < a.size(); ++k) y[k] = float(std::exp(double(a[k] - mx)) / sum);
        break;
      }
      case OpKind::Mfcc:  // the host holds the features already (start_values)
        y = a;
        break;
      case OpKind::Input:
        break;
    }
    for (float x : y)
      if (!std::isfinite(x)) throw UserError(overflow_message(g, w, i));
    v[size_t(i)] = std::move(y);
  }
  return v;
}

void check_float_forward(const Graph& g, const WeightMap& w, const std::string& where) {
  int64_t macs = 0, values = 0;
  for (size_t i = 1; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    const Shape& in = g.nodes[size_t(n.inputs[0])].out;
    values += n.out.elements();
    if (n.kind == OpKind::Conv2D) macs += n.out.elements() * n.kernel_h * n.kernel_w * in.c;
    else if (n.kind == OpKind::DepthwiseConv2D) macs += n.out.elements() * n.kernel_h * n.kernel_w;
    else if (n.kind == OpKind::Dense) macs += n.out.elements() * in.elements();
    if (macs > kCheckMaxMacs || values > kCheckMaxValues) return;  // left to calibration
  }
  try {
    const FoldedModel f = fold_for_inference(g, w);
    float_forward(f.graph, f.weights, std::vector<float>(size_t(g.feature_shape().elements()), 1.0f));
  } catch (const UserError& e) {
    throw UserError(where + ": " + e.what());
  }
}

QuantizedModel quantize_model(const FoldedModel& f, const std::vector<std::vector<float>>& samples) {
  if (samples.empty()) throw UserError("quantisation needs at least one calibration sample");
  const Graph& g = f.graph;
  const int n = int(g.nodes.size());
  std::vector<float> lo(size_t(n), 0.0f), hi(size_t(n), 0.0f);  // ranges always include 0
  for (const auto& s : samples) {
    auto v = float_forward(g, f.weights, s);
    for (int i = 0; i < n; ++i)
      for (float x : v[size_t(i)]) lo[size_t(i)] = std::min(lo[size_t(i)], x), hi[size_t(i)] = std::max(hi[size_t(i)], x);
  }
  QuantizedModel q;
  q.graph = g;
  q.activations.resize(size_t(n));
  for (int i = 0; i < n; ++i) {
    const Node& nd = g.nodes[size_t(i)];
    if (i > 0 && shares_input_params(nd.kind)) {
      q.activations[size_t(i)] = q.activations[size_t(nd.inputs[0])];
      continue;
    }
    if (nd.kind == OpKind::Softmax) {  // probabilities in [0, 1): TFLite's fixed int8 range
      q.activations[size_t(i)] = {1.0f / 256.0f, -128};
      continue;
    }
    float scale = std::max((hi[size_t(i)] - lo[size_t(i)]) / 255.0f, 1e-8f);
    if (!std::isfinite(scale))
      throw UserError("node '" + nd.name + "': its values range over [" + std::to_string(lo[size_t(i)]) + ", " +
                      std::to_string(hi[size_t(i)]) + "], too wide for an int8 scale in float32; the model's weights are "
                      "too large to quantise (retrain it, or check where its weights came from)");
    int32_t zp = int32_t(std::lround(-128.0 - lo[size_t(i)] / scale));
    q.activations[size_t(i)] = {scale, std::min(127, std::max(-128, zp))};
  }
  for (int i = 1; i < n; ++i) {
    const Node& nd = g.nodes[size_t(i)];
    if (nd.kind != OpKind::Conv2D && nd.kind != OpKind::DepthwiseConv2D && nd.kind != OpKind::Dense) continue;
    const WeightTensor& wt = f.weights.at(nd.name + ".weight");
    const int oc = nd.out.c;
    const bool per_channel = nd.kind != OpKind::Dense;
    const int64_t inner = wt.numel() / oc;
    QuantizedLayer L;
    const int groups = per_channel ? oc : 1;
    const int64_t group_size = per_channel ? inner : wt.numel();
    for (int c = 0; c < groups; ++c) {
      float m = 0;
      for (int64_t e = 0; e < group_size; ++e) m = std::max(m, std::fabs(wt.data[size_t(c * group_size + e)]));
      L.weight_scales.push_back(m > 0 ? m / 127.0f : 1.0f);
    }
    L.weights.resize(wt.data.size());
    for (size_t e = 0; e < wt.data.size(); ++e) {
      float s = L.weight_scales[per_channel ? e / size_t(inner) : 0];
      L.weights[e] = int8_t(std::min(127L, std::max(-127L, std::lround(wt.data[e] / s))));
    }
    const QuantParams& in = q.activations[size_t(nd.inputs[0])];
    const QuantParams& out = q.activations[size_t(i)];
    const float* bias = nd.use_bias ? f.weights.at(nd.name + ".bias").data.data() : nullptr;
    for (int c = 0; c < oc; ++c) {
      double bs = double(in.scale) * L.weight_scales[per_channel ? size_t(c) : 0];
      double b = bias ? std::round(bias[c] / bs) : 0.0;
      L.bias.push_back(int32_t(std::min(2147483647.0, std::max(-2147483648.0, b))));
    }
    for (int c = 0; c < groups; ++c) {
      const double multiplier = double(in.scale) * L.weight_scales[size_t(c)] / double(out.scale);
      if (!std::isfinite(L.weight_scales[size_t(c)]) || !std::isfinite(float(double(in.scale) * L.weight_scales[size_t(c)])) ||
          !std::isfinite(multiplier))
        throw UserError("node '" + nd.name + "': its weights (largest magnitude " +
                        std::to_string(L.weight_scales[size_t(c)] * 127.0f) +
                        ") are too large to quantise: a scale overflows float32; retrain the model, or check where its "
                        "weights came from");
      L.output_multipliers.push_back(quantize_multiplier(multiplier));
    }
    q.layers[i] = std::move(L);
  }
  return q;
}

namespace {

std::vector<int8_t> run_node(const QuantizedModel& q, const RuntimeOp& op, const std::vector<std::vector<int8_t>>& v) {
  const Node& nd = q.graph.nodes[size_t(op.node)];
  std::vector<const int8_t*> in;
  for (int k : nd.inputs) {
    const Shape& held = k == 0 ? q.graph.feature_shape() : q.graph.nodes[size_t(k)].out;  // the host holds features
    if (int64_t(v[size_t(k)].size()) != held.elements())
      throw std::invalid_argument("int8_node: the input values of " + nd.name + " are missing or of the wrong size");
    in.push_back(v[size_t(k)].data());
  }
  std::vector<int8_t> y(size_t(nd.out.elements()), 0);
  op.run(in.data(), y.data());
  return y;
}

}  // namespace

std::vector<int8_t> int8_node(const QuantizedModel& q, int i, const std::vector<std::vector<int8_t>>& v) {
  if (i <= 0 || i >= int(q.graph.nodes.size())) throw std::logic_error("int8_node: the input has no operator");
  return run_node(q, *runtime_op(q, i), v);
}

std::vector<std::vector<int8_t>> int8_forward(const QuantizedModel& q, const std::vector<int8_t>& input) {
  return Int8Interpreter(q).forward(input);
}

Int8Interpreter::Int8Interpreter(const QuantizedModel& q) : q_(q), ops_(runtime_ops(q)) {}
Int8Interpreter::~Int8Interpreter() = default;

std::vector<std::vector<int8_t>> Int8Interpreter::forward(const std::vector<int8_t>& input) const {
  std::vector<std::vector<int8_t>> v = start_values(q_.graph, input, "int8");
  for (size_t i = 1; i < ops_.size(); ++i) v[i] = run_node(q_, *ops_[i], v);
  return v;
}

}  // namespace mcuprune
