// The resource formulas, written once as templates over the number type T of channel
// counts (ARCHITECTURE.md, "one formula, two number types"):
//   T = int64_t       -> the exact integer model used in reports and budget checks;
//   T = torch::Tensor -> the differentiable model over soft channel counts (NumOps<Tensor>
//                        is specialised in src/nn/soft_resources.h, the only LibTorch part).
// Free variables are the channel counts of the tensors that conv/dense layers (and the
// model input) produce; every other tensor's count follows from its operator. What each
// formula counts is documented in docs/resources.md.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "graph/mfcc_tables.h"
#include "resources/board.h"
#include "resources/deployed.h"

namespace mcuprune {

// Arithmetic that differs between number types. Real is the type of non-integer results
// (latency): double for the exact model.
template <class T>
struct NumOps;

template <>
struct NumOps<int64_t> {
  using Real = double;
  static int64_t zero(const int64_t&) { return 0; }
  static int64_t max(const int64_t& a, const int64_t& b) { return std::max(a, b); }
  static double real(const int64_t& v) { return double(v); }
  // v rounded up to a multiple of m (the kernels' channel and tap groups).
  static int64_t round_up(const int64_t& v, int64_t m) { return (v + m - 1) / m * m; }
};

// Tensors whose channel count is a free variable, in tensor order: the model input and the
// outputs of Conv2D and FullyConnected ops.
std::vector<int> free_channel_tensors(const DeployedGraph& d);
// Their exact values, from the shapes.
std::vector<int64_t> exact_free_channels(const DeployedGraph& d);

// Channel count of every tensor, given the free ones (aligned with free_channel_tensors).
template <class T>
std::vector<T> propagate_channels(const DeployedGraph& d, const std::vector<T>& free) {
  std::vector<int> free_t = free_channel_tensors(d);
  std::vector<T> ch(d.tensors.size(), NumOps<T>::zero(free.at(0)));
  std::vector<bool> set(d.tensors.size(), false);
  for (size_t k = 0; k < free_t.size(); ++k) ch[free_t[k]] = free[k], set[free_t[k]] = true;
  for (const DeployedOp& op : d.ops) {
    if (set[op.output]) continue;
    const T& in = ch[op.inputs[0]];
    const Shape& ins = d.tensors[op.inputs[0]].shape;
    switch (op.kind) {
      case DeployedKind::DepthwiseConv2D: {
        const Node& n = d.graph->nodes[op.ir_node];
        int mult = n.kind == OpKind::DepthwiseConv2D ? n.depth_multiplier : 1;
        ch[op.output] = in * int64_t(mult);
        break;
      }
      case DeployedKind::Concat: {
        T s = ch[op.inputs[0]];
        for (size_t k = 1; k < op.inputs.size(); ++k) s = s + ch[op.inputs[k]];
        ch[op.output] = s;
        break;
      }
      case DeployedKind::Reshape:
        ch[op.output] = in * (int64_t(ins.h) * ins.w);
        break;
      default:  // pools, mean, add, softmax, activation keep the channel count
        ch[op.output] = in;
        break;
    }
    set[op.output] = true;
  }
  return ch;
}

// The C runtime's mp_mfcc_params struct: 7 int32, 8 pointers (4 bytes on a Cortex-M), 5
// floats/int32 (runtime/kernels/mfcc.h).
constexpr int64_t kMfccParamsBytes = 7 * 4 + 8 * 4 + 5 * 4;

// The paddings constant of a TFLite PAD op: int32 [4, 2] (before/after per NHWC axis).
constexpr int64_t kPadParamBytes = 4 * 2 * 4;

// Constant tensors of op `op` that the flash and per-tensor RAM figures count: weights and
// bias, a PAD's paddings. (A reshape's shape tensor is left to the TFLM simulation.)
inline int64_t const_tensors_of(const DeployedOp& op) {
  switch (op.kind) {
    case DeployedKind::Conv2D:
    case DeployedKind::DepthwiseConv2D:
    case DeployedKind::FullyConnected:
      return 2;
    case DeployedKind::Pad:
      return 1;
    default:
      return 0;
  }
}

template <class T>
struct OpCosts {
  T params;         // weights + biases (count)
  T weight_bytes;   // int8 weights, int32 biases, quantisation parameters
  T macs;           // multiply-accumulates
  T element_ops;    // pool/add/activation/softmax element operations
  T scratch_bytes;  // kernel scratch buffer while the op runs
  T persistent_bytes;  // runtime RAM held for the whole run (per-channel requantisation)
  // Shape figures of the instruction model (KernelInstructions): output values, im2col
  // column values (conv: input values per output pixel times pixels; dense: inputs), output
  // pixels; and whether the kernel runs its scratch path.
  T outputs, columns;
  int64_t pixels = 0;
  bool scratch_kernel = false;
  T edge_outputs;  // outputs at pixels whose window reaches into the padding (conv, depthwise)
  T channels;      // output channels (per-channel set-up: weights, requantisation constants)
  int64_t edge_pixel_count = 0;  // the pixels of edge_outputs (edge_outputs = channels x them)
  // The multiply-accumulates the kernel runs: MACs with its channel and tap groups rounded up
  // (runtimes with an instruction model; otherwise = macs). outputs, columns and edge_outputs
  // count the same groups there.
  T kernel_macs;
};

// Output pixels of a sliding window whose taps do not all fall inside the input (the kernels'
// border path): every pixel minus those of the inside rows times the inside columns.
inline int64_t edge_pixels(const Node& n, const Shape& in, const Shape& out, const PadAmounts& pad) {
  auto inside = [](int outs, int stride, int pad_before, int taps, int dil, int extent) {
    int64_t k = 0;
    for (int o = 0; o < outs; ++o) {
      const int64_t first = int64_t(o) * stride - pad_before, last = first + int64_t(taps - 1) * dil;
      k += first >= 0 && last < extent;
    }
    return k;
  };
  const int64_t ih = inside(out.h, n.stride_h, pad.top, n.kernel_h, n.dilation_h, in.h);
  const int64_t iw = inside(out.w, n.stride_w, pad.left, n.kernel_w, n.dilation_w, in.w);
  return int64_t(out.h) * out.w - ih * iw;
}

// Costs of op `o` for channel counts `ch` (one per tensor).
template <class T>
OpCosts<T> op_costs(const DeployedGraph& d, int o, const std::vector<T>& ch, const RuntimeProfile& rt) {
  const DeployedOp& op = d.ops[o];
  const Node& n = d.graph->nodes[op.ir_node];
  const T& cin = ch[op.inputs[0]];
  const T& cout = ch[op.output];
  const Shape& os = d.tensors[op.output].shape;
  const int64_t out_hw = int64_t(os.h) * os.w;
  const int64_t kk = int64_t(n.kernel_h) * n.kernel_w;
  const T zero = NumOps<T>::zero(cout);
  OpCosts<T> c{zero, zero, zero, zero, zero, zero, cout * out_hw, zero, out_hw, false, zero, cout + int64_t(0), 0, zero};
  bool kernel_set = false;
  const int64_t q = rt.quant_param_bytes;
  const int64_t qt = rt.quant_table_bytes;
  // After a PAD op (TFLite) the window op itself runs unpadded.
  const int producer = d.tensors[op.inputs[0]].producer;
  const bool after_pad_op = producer >= 0 && is_pad_op(d, producer);
  const PadAmounts pad = after_pad_op ? PadAmounts{} : Graph::pad_amounts(n, d.tensors[op.inputs[0]].shape);
  const bool padded = pad.top || pad.bottom || pad.left || pad.right;
  switch (op.kind) {
    case DeployedKind::Conv2D: {
      T w = cin * cout * kk;
      c.params = w + cout;
      // int8 weights, int32 bias; per-channel quantisation of weights and of bias.
      c.weight_bytes = w + cout * int64_t(4 + 2 * q + rt.flash_requant_bytes_per_channel) + 2 * qt;
      c.macs = cin * cout * (kk * out_hw);
      c.persistent_bytes = cout * rt.requant_bytes_per_channel;
      // CMSIS-NN: a 1x1 unpadded conv (any stride) runs without im2col; every other conv
      // keeps two im2col columns of int16.
      bool pointwise = n.kernel_h == 1 && n.kernel_w == 1 && !padded && n.dilation_h == 1 &&
                       n.dilation_w == 1;
      if (rt.im2col_scratch && !pointwise) c.scratch_bytes = cin * (2 * 2 * kk);
      // mcuprune's kernel: mp_conv_scratch_bytes, for any conv without horizontal dilation.
      if (rt.kernel_scratch_buffers && n.dilation_w == 1) c.scratch_bytes = cin * (2 * 2 * kk) + int64_t(15);
      c.scratch_kernel = rt.kernel_scratch_buffers && n.dilation_w == 1;
      c.columns = cin * (kk * out_hw);
      c.edge_pixel_count = edge_pixels(n, d.tensors[op.inputs[0]].shape, os, pad);
      c.edge_outputs = cout * c.edge_pixel_count;
      if (rt.has_instruction_model) {
        // mcuprune's kernels (runtime/kernels/conv.c): with scratch, pairs of pixels by pairs
        // of channels over taps in groups of four, the last pair and group overlapping; without,
        // four channels at a time.
        if (c.scratch_kernel) {
          const int64_t pixels2 = NumOps<int64_t>::round_up(out_hw, 2);
          const T cout2 = NumOps<T>::round_up(cout, 2), k4 = NumOps<T>::round_up(cin * kk, 4);
          c.kernel_macs = cout2 * k4 * pixels2, kernel_set = true;
          c.outputs = cout2 * pixels2, c.columns = k4 * pixels2;
          c.edge_outputs = cout2 * c.edge_pixel_count;
        } else {
          const T cout4 = NumOps<T>::round_up(cout, 4);
          c.kernel_macs = cout4 * cin * (kk * out_hw), kernel_set = true;
          c.outputs = cout4 * out_hw, c.edge_outputs = cout4 * c.edge_pixel_count;
        }
      }
      break;
    }
    case DeployedKind::DepthwiseConv2D: {
      bool bn_only = n.kind != OpKind::DepthwiseConv2D;  // a lone BatchNorm deployed as 1x1
      int64_t k = bn_only ? 1 : kk;
      c.params = cout * (k + 1);
      c.weight_bytes = cout * (k + 4 + 2 * q + rt.flash_requant_bytes_per_channel) + 2 * qt;
      c.macs = cout * (k * out_hw);
      c.persistent_bytes = cout * rt.requant_bytes_per_channel;
      // CMSIS-NN: multiplier 1 with a 3x3 kernel and padding <= 1 uses the 3x3 kernel (no
      // scratch); other multiplier-1 cases use the optimised kernel with an int16 buffer of
      // C*kh*kw; multipliers > 1 use the generic kernel (no scratch).
      int mult = bn_only ? 1 : n.depth_multiplier;
      bool small_pad = pad.top <= 1 && pad.bottom <= 1 && pad.left <= 1 && pad.right <= 1;
      bool three_by_three = n.kernel_h == 3 && n.kernel_w == 3 && small_pad &&
                            n.dilation_h == 1 && n.dilation_w == 1;
      if (rt.im2col_scratch && !bn_only && mult == 1 && !three_by_three)
        c.scratch_bytes = cin * (2 * kk);
      if (!bn_only) c.edge_pixel_count = edge_pixels(n, d.tensors[op.inputs[0]].shape, os, pad);
      c.edge_outputs = cout * c.edge_pixel_count;
      if (rt.has_instruction_model && mult == 1) {  // four channels at a time, the last group overlapping
        const T cout4 = NumOps<T>::round_up(cout, 4);
        c.kernel_macs = cout4 * (k * out_hw), kernel_set = true;
        c.outputs = cout4 * out_hw, c.edge_outputs = cout4 * c.edge_pixel_count;
      }
      break;
    }
    case DeployedKind::FullyConnected: {
      T w = cin * cout;
      c.params = w + cout;
      // Per-tensor quantisation of weights and bias.
      c.weight_bytes = w + cout * int64_t(4) + 2 * (q + qt) + rt.flash_requant_bytes_per_channel;
      c.macs = w;
      // mcuprune's kernel: mp_fully_connected_scratch_bytes (the input as int16).
      if (rt.kernel_scratch_buffers) c.scratch_bytes = cin * int64_t(2) + int64_t(9);
      c.scratch_kernel = rt.kernel_scratch_buffers;
      c.columns = cin + int64_t(0);
      // Per-tensor quantisation: one multiplier and shift for the whole layer.
      c.persistent_bytes = zero + rt.requant_bytes_per_channel;
      if (rt.has_instruction_model) {  // four rows at a time; with scratch, inputs in groups of four
        const T rows4 = NumOps<T>::round_up(cout, 4), in4 = c.scratch_kernel ? NumOps<T>::round_up(cin, 4) : cin;
        c.kernel_macs = rows4 * in4, kernel_set = true;
        c.outputs = rows4 + int64_t(0), c.columns = in4 + int64_t(0);
      }
      break;
    }
    case DeployedKind::MaxPool:
      c.element_ops = cout * (kk * out_hw);
      break;
    case DeployedKind::AvgPool:
      c.element_ops = cout * (kk * out_hw);
      if (rt.im2col_scratch) c.scratch_bytes = cout * int64_t(4);  // int32 sums per channel
      break;
    case DeployedKind::Mean: {
      const Shape& ins = d.tensors[op.inputs[0]].shape;
      c.element_ops = cin * (int64_t(ins.h) * ins.w);
      if (rt.mean_scratch) c.scratch_bytes = cout * int64_t(4);  // int32 accumulators
      break;
    }
    case DeployedKind::Add:
      c.element_ops = cout * (out_hw * int64_t(op.inputs.size() - 1));
      break;
    case DeployedKind::Softmax:
    case DeployedKind::Activation:
    case DeployedKind::Concat:
    case DeployedKind::Reshape:
      c.element_ops = cout * out_hw;
      break;
    case DeployedKind::Pad:
      c.element_ops = cout * out_hw;  // writes every value of the padded tensor
      c.weight_bytes = zero + kPadParamBytes;
      break;
    case DeployedKind::FrontEnd: {
      // The MFCC front end (runtime/kernels/mfcc.h): its tables in flash, its float scratch
      // a static buffer (RAM for the whole run), its multiplications as element operations.
      const MfccDeviceTables t = mfcc_device_tables(n.mfcc);
      c.weight_bytes = zero + (t.flash_bytes() + kMfccParamsBytes);
      c.persistent_bytes = zero + int64_t(4 * t.scratch_floats);
      c.element_ops = zero + mfcc_multiplies(n.mfcc);
      break;
    }
  }
  if (!kernel_set) c.kernel_macs = c.macs;
  return c;
}

template <class T>
struct GraphCosts {
  std::vector<OpCosts<T>> ops;
  std::vector<T> tensor_bytes;  // activation tensors, int8
  T params, flash_bytes, macs, element_ops;
  T persistent_ram_bytes;  // per-channel requantisation data + per-tensor runtime structs
  typename NumOps<T>::Real latency_ms;
  std::vector<typename NumOps<T>::Real> op_latency_ms;
};

// The instruction model's coefficients for op (runtimes with one; the board's core picks the
// DSP or the portable path).
inline const KernelInstructions& kernel_instructions(const DeployedOp& op, bool scratch_kernel,
                                                     const RuntimeProfile& rt, const Board& b) {
  const InstructionModel& m = b.latency.dsp ? rt.instructions_dsp : rt.instructions_portable;
  switch (op.kind) {
    case DeployedKind::Conv2D: return scratch_kernel ? m.conv : m.conv_plain;
    case DeployedKind::DepthwiseConv2D: return m.depthwise;
    case DeployedKind::FullyConnected: return scratch_kernel ? m.dense : m.dense_plain;
    case DeployedKind::MaxPool:
    case DeployedKind::AvgPool: return m.pool;
    case DeployedKind::Mean: return m.mean;
    case DeployedKind::FrontEnd: return m.front_end;
    case DeployedKind::Add: return m.add;
    case DeployedKind::Softmax: return m.softmax;
    case DeployedKind::Activation: return m.clamp;
    default: return m.copy;  // reshape, concat, pad
  }
}

// Instructions of op with costs c, without its fixed cost (runtimes with an instruction model).
template <class T>
typename NumOps<T>::Real op_variable_instructions(const DeployedOp& op, const OpCosts<T>& c, const RuntimeProfile& rt,
                                                  const Board& b) {
  const KernelInstructions& k = kernel_instructions(op, c.scratch_kernel, rt, b);
  return NumOps<T>::real(c.kernel_macs) * k.per_mac + NumOps<T>::real(c.outputs) * k.per_output +
         NumOps<T>::real(c.columns) * k.per_column + NumOps<T>::real(c.element_ops) * k.per_element +
         NumOps<T>::real(c.edge_outputs) * k.per_edge_output + NumOps<T>::real(c.channels) * k.per_channel +
         double(c.pixels) * k.per_pixel;
}

template <class T>
typename NumOps<T>::Real op_latency_ms(const DeployedOp& op, const OpCosts<T>& c, const Board& b,
                                       const RuntimeProfile& rt) {
  if (rt.has_instruction_model) {
    const double ms_per_instruction = b.latency.cycles_per_instruction * 1e-3 / b.clock_mhz;
    return op_variable_instructions(op, c, rt, b) * ms_per_instruction +
           kernel_instructions(op, c.scratch_kernel, rt, b).fixed * ms_per_instruction;
  }
  const LatencyCoefficients& k = b.latency;
  double per_mac = 0, per_op = k.eltwise_cycles_per_op;
  switch (op.kind) {
    case DeployedKind::Conv2D: per_mac = k.conv_cycles_per_mac; break;
    case DeployedKind::DepthwiseConv2D: per_mac = k.depthwise_cycles_per_mac; break;
    case DeployedKind::FullyConnected: per_mac = k.dense_cycles_per_mac; break;
    case DeployedKind::MaxPool:
    case DeployedKind::AvgPool:
    case DeployedKind::Mean: per_op = k.pool_cycles_per_op; break;
    default: break;
  }
  const double ms_per_cycle = 1e-3 / b.clock_mhz;
  return (NumOps<T>::real(c.macs) * per_mac + NumOps<T>::real(c.element_ops) * per_op) * ms_per_cycle +
         k.op_fixed_cycles * ms_per_cycle;
}

// Flash, MACs, ops and latency of the whole graph for channel counts `ch`.
template <class T>
GraphCosts<T> graph_costs(const DeployedGraph& d, const std::vector<T>& ch, const RuntimeProfile& rt,
                          const Board& b) {
  GraphCosts<T> g;
  const T zero = NumOps<T>::zero(ch.at(0));
  g.params = g.flash_bytes = g.macs = g.element_ops = g.persistent_ram_bytes = zero;
  g.latency_ms = NumOps<T>::real(zero);
  for (size_t t = 0; t < d.tensors.size(); ++t) {
    const Shape& s = d.tensors[t].shape;
    g.tensor_bytes.push_back(ch[t] * (int64_t(s.h) * s.w * d.tensors[t].element_bytes));
  }
  int64_t fixed = rt.model_overhead_bytes;
  for (size_t o = 0; o < d.ops.size(); ++o) {
    OpCosts<T> c = op_costs(d, int(o), ch, rt);
    g.params = g.params + c.params;
    g.flash_bytes = g.flash_bytes + c.weight_bytes;
    g.macs = g.macs + c.macs;
    g.element_ops = g.element_ops + c.element_ops;
    g.persistent_ram_bytes = g.persistent_ram_bytes + c.persistent_bytes;
    auto lat = op_latency_ms(d.ops[o], c, b, rt);
    g.op_latency_ms.push_back(lat);
    g.latency_ms = g.latency_ms + lat;
    // Operator table entry, plus the weight and bias (or paddings) tensors' metadata.
    fixed += rt.op_overhead_bytes + const_tensors_of(d.ops[o]) * rt.tensor_overhead_bytes;
    g.ops.push_back(c);
  }
  // Activation tensors: metadata and per-tensor quantisation parameters.
  fixed += int64_t(d.tensors.size()) * (rt.tensor_overhead_bytes + rt.quant_table_bytes + rt.quant_param_bytes);
  g.flash_bytes = g.flash_bytes + fixed;
  // The runtime's per-tensor structs (activations and constants) live in RAM too.
  int64_t tensors = int64_t(d.tensors.size());
  for (const DeployedOp& op : d.ops) tensors += const_tensors_of(op);
  g.persistent_ram_bytes = g.persistent_ram_bytes + tensors * rt.tensor_ram_bytes;
  return g;
}

// Memory of every step of an operator order: the bytes of the tensors live while the
// step's op runs (its inputs, its output, everything produced earlier and still needed,
// the model input until its last consumer, the model output from its producer on) plus
// the op's scratch buffer. With in-place Add, an Add whose input dies at that step writes
// its output over that input and adds no bytes.
template <class T>
struct OrderMemory {
  std::vector<T> step_bytes;  // aligned with the order
  T peak_bytes;
};

template <class T>
OrderMemory<T> order_memory(const DeployedGraph& d, const std::vector<int>& order,
                            const std::vector<T>& tensor_bytes, const std::vector<T>& scratch_bytes,
                            bool inplace_add) {
  const size_t m = order.size();
  std::vector<int> pos(d.ops.size(), -1);
  for (size_t s = 0; s < m; ++s) pos[order[s]] = int(s);
  // Each tensor lives over steps [first, last].
  std::vector<int> first(d.tensors.size()), last(d.tensors.size());
  for (size_t t = 0; t < d.tensors.size(); ++t) {
    const DeployedTensor& tt = d.tensors[t];
    first[t] = tt.producer < 0 ? 0 : pos[tt.producer];
    int l = first[t];
    for (int c : tt.consumers) l = std::max(l, pos[c]);
    last[t] = tt.is_model_output ? int(m) - 1 : l;
  }
  OrderMemory<T> r;
  const T zero = NumOps<T>::zero(tensor_bytes.at(0));
  r.peak_bytes = zero;
  for (size_t s = 0; s < m; ++s) {
    const DeployedOp& op = d.ops[order[s]];
    T mem = scratch_bytes[order[s]];
    bool reuse = false;
    if (inplace_add && op.kind == DeployedKind::Add)
      for (int in : op.inputs) reuse = reuse || (last[in] == int(s) && !d.tensors[in].is_model_output);
    for (size_t t = 0; t < d.tensors.size(); ++t) {
      if (first[t] > int(s) || last[t] < int(s)) continue;
      if (reuse && int(t) == op.output) continue;  // shares its input's buffer
      mem = mem + tensor_bytes[t];
    }
    r.step_bytes.push_back(mem);
    r.peak_bytes = s == 0 ? mem : NumOps<T>::max(r.peak_bytes, mem);
  }
  return r;
}

}  // namespace mcuprune
