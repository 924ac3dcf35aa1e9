// Kernel parameters of a quantised model's nodes (see runtime_ops.h).
#include "quant/runtime_ops.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace mcuprune {

namespace {

// Output clamp range of an int8 op with a fused activation (TFLite's CalculateActivationRange).
void act_range(Activation a, const QuantParams& out, int32_t& lo, int32_t& hi) {
  lo = -128, hi = 127;
  if (a == Activation::ReLU || a == Activation::ReLU6) lo = std::max(lo, out.zero_point);
  if (a == Activation::ReLU6) hi = std::min(hi, out.zero_point + int32_t(std::lround(6.0f / out.scale)));
}

mp_shape shape_of(const Shape& s) { return {s.h, s.w, s.c}; }

mp_window window_of(const Graph& g, const Node& n) {
  const Shape& in = g.nodes[size_t(n.inputs[0])].out;
  const bool conv = n.kind == OpKind::Conv2D || n.kind == OpKind::DepthwiseConv2D;
  const PadAmounts pad = Graph::pad_amounts(n, in);
  mp_window w{};
  w.in = shape_of(in);
  w.out = shape_of(n.out);
  w.kernel_h = n.kernel_h, w.kernel_w = n.kernel_w;
  w.stride_h = n.stride_h, w.stride_w = n.stride_w;
  w.dilation_h = conv ? n.dilation_h : 1, w.dilation_w = conv ? n.dilation_w : 1;
  w.pad_top = pad.top, w.pad_left = pad.left;
  return w;
}

void set_requant(RuntimeOp& op, const QuantizedLayer& L) {
  for (const QuantizedMultiplier& m : L.output_multipliers) {
    op.multiplier.push_back(m.multiplier);
    op.shift.push_back(m.shift);
  }
  op.bias = L.bias;
}

void check_inputs(const Node& n, int max_inputs, const char* what) {
  if (int(n.inputs.size()) > max_inputs)
    throw UserError(n.name + " (" + what + "): " + std::to_string(n.inputs.size()) + " inputs; the mcuprune runtime takes at most " +
                    std::to_string(max_inputs) + " (split it into a chain of " + what + "s)");
}

}  // namespace

std::vector<int8_t> runtime_weight_layout(const Graph& g, int i, const std::vector<int8_t>& w);

namespace {

// The fields conv and depthwise parameters share (their structs differ by one field).
template <class P>
void fill_conv(RuntimeOp& op, P& p, const QuantizedModel& q, int i, int32_t lo, int32_t hi) {
  const Node& n = q.graph.nodes[size_t(i)];
  const QuantizedLayer& L = q.layers.at(i);
  op.weights = runtime_weight_layout(q.graph, i, L.weights);
  set_requant(op, L);
  p.win = window_of(q.graph, n);
  p.input_offset = -q.activations[size_t(n.inputs[0])].zero_point;
  p.output_zero_point = q.activations[size_t(i)].zero_point, p.act_min = lo, p.act_max = hi;
  p.weights = op.weights.data(), p.bias = op.bias.data();
  p.multiplier = op.multiplier.data(), p.shift = op.shift.data();
}

}  // namespace

std::vector<int8_t> runtime_weight_layout(const Graph& g, int i, const std::vector<int8_t>& w) {
  const Node& n = g.nodes[size_t(i)];
  const int oc = n.out.c, kh = n.kernel_h, kw = n.kernel_w;
  std::vector<int8_t> r(w.size());
  if (n.kind == OpKind::Conv2D) {
    const int ic = g.nodes[size_t(n.inputs[0])].out.c;
    for (int o = 0; o < oc; ++o)
      for (int c = 0; c < ic; ++c)
        for (int y = 0; y < kh; ++y)
          for (int x = 0; x < kw; ++x)
            r[size_t(((o * kh + y) * kw + x) * ic + c)] = w[size_t(((o * ic + c) * kh + y) * kw + x)];
  } else if (n.kind == OpKind::DepthwiseConv2D) {
    for (int o = 0; o < oc; ++o)
      for (int y = 0; y < kh; ++y)
        for (int x = 0; x < kw; ++x) r[size_t((y * kw + x) * oc + o)] = w[size_t((o * kh + y) * kw + x)];
  } else {
    r = w;
  }
  return r;
}

std::unique_ptr<RuntimeOp> runtime_op(const QuantizedModel& q, int i) {
  const Graph& g = q.graph;
  const Node& n = g.nodes[size_t(i)];
  auto op = std::make_unique<RuntimeOp>();
  op->node = i;
  const QuantParams& pin = q.activations[size_t(n.inputs.empty() ? 0 : n.inputs[0])];
  const QuantParams& pout = q.activations[size_t(i)];
  int32_t lo, hi;
  act_range(n.activation, pout, lo, hi);
  const int32_t size = int32_t(n.out.elements());
  switch (n.kind) {
    case OpKind::Conv2D:
      op->kind = MP_OP_CONV;
      fill_conv(*op, op->conv, q, i, lo, hi);
      break;
    case OpKind::DepthwiseConv2D:
      op->kind = MP_OP_DEPTHWISE_CONV;
      fill_conv(*op, op->depthwise, q, i, lo, hi);
      op->depthwise.depth_multiplier = n.depth_multiplier;
      break;
    case OpKind::Dense: {
      const QuantizedLayer& L = q.layers.at(i);
      op->kind = MP_OP_FULLY_CONNECTED;
      op->weights = L.weights;
      set_requant(*op, L);
      mp_fully_connected_params& p = op->fully_connected;
      p.in_features = int32_t(g.nodes[size_t(n.inputs[0])].out.elements()), p.out_features = n.out.c;
      p.input_offset = -pin.zero_point, p.output_zero_point = pout.zero_point, p.act_min = lo, p.act_max = hi;
      p.multiplier = op->multiplier.at(0), p.shift = op->shift.at(0);
      p.weights = op->weights.data(), p.bias = op->bias.data();
      break;
    }
    case OpKind::MaxPool:
    case OpKind::AvgPool:
      op->kind = n.kind == OpKind::MaxPool ? MP_OP_MAX_POOL : MP_OP_AVG_POOL;
      op->pool.win = window_of(g, n);
      break;
    case OpKind::GlobalAvgPool:
      op->kind = MP_OP_MEAN;
      op->mean.in = shape_of(g.nodes[size_t(n.inputs[0])].out);
      break;
    case OpKind::ReLU:
    case OpKind::ReLU6:
      op->kind = MP_OP_CLAMP;
      act_range(n.kind == OpKind::ReLU ? Activation::ReLU : Activation::ReLU6, pout, lo, hi);
      op->clamp = {size, lo, hi};
      break;
    case OpKind::Dropout:
    case OpKind::Flatten:
      op->kind = MP_OP_RESHAPE;
      op->reshape.size = size;
      break;
    case OpKind::Add: {
      check_inputs(n, MP_ADD_MAX_INPUTS, "add");
      op->kind = MP_OP_ADD;
      mp_add_params& p = op->add;
      p.n_inputs = int32_t(n.inputs.size()), p.size = size, p.left_shift = 20;
      float max_scale = 0;
      for (int in : n.inputs) max_scale = std::max(max_scale, q.activations[size_t(in)].scale);
      const double twice = 2.0 * max_scale;
      for (size_t j = 0; j < n.inputs.size(); ++j) {
        const QuantParams& a = q.activations[size_t(n.inputs[j])];
        const QuantizedMultiplier m = quantize_multiplier(a.scale / twice);
        p.input_zero_point[j] = a.zero_point, p.input_multiplier[j] = m.multiplier, p.input_shift[j] = m.shift;
      }
      const QuantizedMultiplier out = quantize_multiplier(twice / ((1 << p.left_shift) * double(pout.scale)));
      p.output_multiplier = out.multiplier, p.output_shift = out.shift;
      p.output_zero_point = pout.zero_point, p.act_min = lo, p.act_max = hi;
      break;
    }
    case OpKind::Concat: {
      check_inputs(n, MP_CONCAT_MAX_INPUTS, "concat");
      op->kind = MP_OP_CONCAT;
      mp_concat_params& p = op->concat;
      p.n_inputs = int32_t(n.inputs.size()), p.pixels = n.out.h * n.out.w, p.out_c = n.out.c;
      p.output_zero_point = pout.zero_point;
      for (size_t j = 0; j < n.inputs.size(); ++j) {
        const QuantParams& a = q.activations[size_t(n.inputs[j])];
        p.channels[j] = g.nodes[size_t(n.inputs[j])].out.c;
        p.same[j] = a.scale == pout.scale && a.zero_point == pout.zero_point;
        p.scale[j] = a.scale / pout.scale;
        p.bias[j] = -float(a.zero_point) * p.scale[j];
      }
      break;
    }
    case OpKind::Softmax:
      op->kind = MP_OP_SOFTMAX;
      op->softmax = {size, pin.scale, pout.scale, pout.zero_point};
      break;
    case OpKind::BatchNorm:
      throw UserError(n.name + " (batchnorm): fold BatchNorm before quantisation");
    case OpKind::Mfcc:
      // On the host the input holds the features already: the front end passes them on (a
      // copy). The C export runs runtime/kernels/mfcc.h on raw audio instead.
      op->kind = MP_OP_RESHAPE;
      op->reshape = {size};
      break;
    case OpKind::Input:
      throw std::logic_error("runtime_op: the input has no operator");
  }
  return op;
}

std::vector<std::unique_ptr<RuntimeOp>> runtime_ops(const QuantizedModel& q) {
  std::vector<std::unique_ptr<RuntimeOp>> ops(q.graph.nodes.size());
  for (size_t i = 1; i < ops.size(); ++i) ops[i] = runtime_op(q, int(i));
  return ops;
}

const void* RuntimeOp::params() const {
  switch (kind) {
    case MP_OP_CONV: return &conv;
    case MP_OP_DEPTHWISE_CONV: return &depthwise;
    case MP_OP_FULLY_CONNECTED: return &fully_connected;
    case MP_OP_MAX_POOL:
    case MP_OP_AVG_POOL: return &pool;
    case MP_OP_MEAN: return &mean;
    case MP_OP_ADD: return &add;
    case MP_OP_CONCAT: return &concat;
    case MP_OP_RESHAPE: return &reshape;
    case MP_OP_SOFTMAX: return &softmax;
    case MP_OP_CLAMP: return &clamp;
    case MP_OP_MFCC: return nullptr;  // the host passes features on (MP_OP_RESHAPE); only the C export runs it
  }
  return nullptr;
}

void RuntimeOp::run(const int8_t* const* inputs, int8_t* output) const {
  mp_op op{};
  op.kind = kind;
  op.params = params();
  if (mp_run_op(&op, inputs, output, nullptr) != MP_OK) throw std::logic_error("runtime op of an unknown kind");
}

}  // namespace mcuprune
