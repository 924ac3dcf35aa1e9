// The operators of a quantised model as the C runtime (runtime/) runs them: each node's
// kernel parameters (weights in the kernel's layout, per-channel multipliers and shifts,
// zero points, clamp ranges) built once from the QuantizedModel. The integer reference
// interpreter (quantize.h) runs these kernels, and the C exporter writes these same values
// as constant arrays, so the host reference, the exports and the device share one
// implementation of the int8 arithmetic.
#pragma once

#include <memory>
#include <vector>

#include "quant/quantize.h"

extern "C" {
#include "mcuprune_rt.h"
#include "kernels/add.h"
#include "kernels/clamp.h"
#include "kernels/concat.h"
#include "kernels/conv.h"
#include "kernels/depthwise_conv.h"
#include "kernels/fully_connected.h"
#include "kernels/mean.h"
#include "kernels/pooling.h"
#include "kernels/reshape.h"
#include "kernels/softmax.h"
}

namespace mcuprune {

struct RuntimeOp {
  int node = -1;
  mp_op_kind kind = MP_OP_RESHAPE;
  // Storage the parameter structs point into (not copyable: the pointers would dangle).
  std::vector<int8_t> weights;
  std::vector<int32_t> bias, multiplier, shift;
  mp_conv_params conv{};
  mp_depthwise_conv_params depthwise{};
  mp_fully_connected_params fully_connected{};
  mp_pool_params pool{};
  mp_mean_params mean{};
  mp_add_params add{};
  mp_concat_params concat{};
  mp_reshape_params reshape{};
  mp_softmax_params softmax{};
  mp_clamp_params clamp{};

  RuntimeOp() = default;
  RuntimeOp(const RuntimeOp&) = delete;
  RuntimeOp& operator=(const RuntimeOp&) = delete;

  const void* params() const;
  // Runs the kernel on tensors given by pointer (inputs in the node's input order).
  void run(const int8_t* const* inputs, int8_t* output) const;
};

// Node i (not the input) of q as a runtime operator. Throws UserError naming the node for
// what the runtime cannot run (more inputs to an add or concat than it takes, an unfolded
// batchnorm, a softmax over a map).
std::unique_ptr<RuntimeOp> runtime_op(const QuantizedModel& q, int i);

// Every node of q but the input, by node index (entry 0 is null).
std::vector<std::unique_ptr<RuntimeOp>> runtime_ops(const QuantizedModel& q);

// Conv weights OIHW -> OHWI; depthwise [C*m, 1, kh, kw] -> [kh, kw, C*m]; dense as is.
std::vector<int8_t> runtime_weight_layout(const Graph& g, int i, const std::vector<int8_t>& weights);

}  // namespace mcuprune
