// int8 TensorFlow Lite export of a quantised model (quant/quantize.h), for TensorFlow Lite
// Micro and any TFLite interpreter. One subgraph; operators in the given execution order
// (export/order.h: the peak-SRAM-optimal order of the resource model); per-channel int8
// weights, int32 biases, per-tensor int8 activations with exactly the quantisation
// parameters the integer reference interpreter uses. Layout NHWC, batch 1.
#pragma once

#include <string>
#include <vector>

#include "quant/quantize.h"

namespace mcuprune {

struct TfliteOptions {
  std::vector<int> order;    // node indices (no input) in execution order; empty: graph order
  bool float_io = false;     // float32 input and output via QUANTIZE / DEQUANTIZE operators
  bool all_outputs = false;  // also expose every operator's output (for verification)
  std::string description;   // stored in the model's description field
};

// Returns the .tflite file contents. Throws UserError naming the node and "TFLite" for an
// operator or attribute the format (or mcuprune's int8 arithmetic) cannot express.
std::string export_tflite(const QuantizedModel& q, const TfliteOptions& opt = {});

}  // namespace mcuprune
