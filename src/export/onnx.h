// ONNX export (opset 13): the float model, and an int8 QDQ model (QuantizeLinear /
// DequantizeLinear around float operators, with the int8 weights, int32 biases and
// activation parameters of the integer reference). Layout NCHW, batch 1; the input is
// float32 "input" [1, C, H, W] in both variants, already normalised as the model expects.
// A model imported from ONNX (Graph::onnx_io) keeps its original input and output names,
// and an NHWC input stays NHWC ([1, H, W, C], transposed inside the model).
#pragma once

#include <string>
#include <vector>

#include "quant/fold.h"
#include "quant/quantize.h"

namespace mcuprune {

struct OnnxOptions {
  std::vector<int> order;    // node indices (no input) in execution order; empty: graph order
  bool all_outputs = false;  // float: every node's value; QDQ: every int8 activation (verification)
  std::string doc;           // stored as the model's doc_string
};

// Returns serialised ModelProto bytes. Throws UserError naming the node and "ONNX" for
// what the format cannot express. Models pass onnx's checker (ONNX_NAMESPACE::checker).
std::string export_onnx_float(const FoldedModel& f, const OnnxOptions& opt = {});
std::string export_onnx_qdq(const QuantizedModel& q, const OnnxOptions& opt = {});

// Output names (not imported): the float model's output is the output node's name; the QDQ
// model's is that name + "_dq" (float, dequantised), and with all_outputs each node's int8
// activation is "<node>_q". An imported model's output keeps its ONNX name in both.
std::string onnx_int8_name(const std::string& node);

}  // namespace mcuprune
