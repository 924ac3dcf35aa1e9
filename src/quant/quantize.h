// Post-training int8 quantisation of a folded model (fold.h) and the integer reference
// interpreter with TensorFlow-Lite-compatible arithmetic (int32 accumulation, per-channel
// requantisation by fixed-point multiplier and shift, the same rounding, activation
// clamping). Weights: per-channel symmetric int8 (dense: per-tensor); activations:
// per-tensor asymmetric int8 calibrated on sample inputs; biases: int32 with scale
// input_scale * weight_scale. Layout: HWC per sample, weights as in the float model.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/weights.h"
#include "quant/fixed_point.h"
#include "quant/fold.h"

namespace mcuprune {

struct QuantParams {
  float scale = 1.0f;
  int32_t zero_point = 0;
  int8_t quantize(float x) const;
  float dequantize(int8_t q) const { return scale * float(int32_t(q) - zero_point); }
};

struct QuantizedLayer {  // conv2d, depthwise_conv2d, dense
  std::vector<int8_t> weights;
  std::vector<float> weight_scales;         // per output channel (dense: one)
  std::vector<int32_t> bias;                // per output channel
  std::vector<QuantizedMultiplier> output_multipliers;  // per output channel (dense: one)
};

struct QuantizedModel {
  Graph graph;                          // the folded graph
  std::vector<QuantParams> activations;  // per node output
  std::map<int, QuantizedLayer> layers;  // by node index
};

// The quantised model without its audio front end (graph.h's without_front_end; its input
// takes the features' quantisation parameters).
QuantizedModel without_front_end(const QuantizedModel& q);

// Float inference of a folded (or any BN-free) model on one HWC sample, torch-free:
// returns every node's output (HWC). Used for calibration and as the float reference.
// Throws UserError if the input is not finite, or naming the first node whose output is not
// (float32 overflow: weights too large) with its largest |weight|.
std::vector<std::vector<float>> float_forward(const Graph& g, const WeightMap& w, const std::vector<float>& input);

// The model's float forward pass, checked where its weights come in (import, loading): folds
// it (BatchNorm folding must not overflow) and runs float_forward on an input of ones (a
// normalised image is of that order), so that weights too large for float32 (finite, near
// 3e38) are a UserError prefixed with `where` instead of NaN outputs later. Models whose run
// would take more than a fraction of a second (over kCheckMaxMacs MACs or kCheckMaxValues
// activation values; MCU models are far below) are left to the same check in calibration,
// which runs float_forward anyway; the bound also keeps fuzzed imports fast.
constexpr int64_t kCheckMaxMacs = 100'000'000;
constexpr int64_t kCheckMaxValues = int64_t(1) << 23;
void check_float_forward(const Graph& g, const WeightMap& w, const std::string& where);

// Calibrates activation ranges on `samples` (HWC, already normalised) and quantises.
QuantizedModel quantize_model(const FoldedModel& f, const std::vector<std::vector<float>>& samples);

// Integer inference on one quantised HWC input; returns every node's int8 output.
// Softmax outputs use scale 1/256 and zero point -128. The arithmetic is the C runtime's
// kernels (runtime/, through quant/runtime_ops.h): the device runs the same code.
std::vector<std::vector<int8_t>> int8_forward(const QuantizedModel& q, const std::vector<int8_t>& input);

struct RuntimeOp;

// int8_forward for many inputs: the kernels' parameters are built once. Holds a reference
// to q, which must outlive it.
class Int8Interpreter {
 public:
  explicit Int8Interpreter(const QuantizedModel& q);
  ~Int8Interpreter();
  std::vector<std::vector<int8_t>> forward(const std::vector<int8_t>& input) const;

 private:
  const QuantizedModel& q_;
  std::vector<std::unique_ptr<RuntimeOp>> ops_;
};

// One operator of the integer interpreter: node i's int8 output computed from `values`
// (indexed by node; only node i's inputs are read). Lets a test feed each operator the
// inputs another runtime produced and compare that operator alone.
std::vector<int8_t> int8_node(const QuantizedModel& q, int i, const std::vector<std::vector<int8_t>>& values);

}  // namespace mcuprune
