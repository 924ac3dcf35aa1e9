// ONNX import: a float CNN exported by PyTorch (torch.onnx.export) or tf2onnx becomes an IR
// graph and its weights, ready for profile, train, prune and the exports. NCHW models, batch
// 1 (or a symbolic batch). Operators: Conv (group 1, or depthwise: group = input channels),
// BatchNormalization, Relu, Clip (ReLU6 or ReLU), Add, Concat (channels), MaxPool,
// AveragePool, GlobalAveragePool, Flatten, Reshape to 2-D (constant or computed from the
// input's shape), Gemm, MatMul (+ Add of a constant bias), Softmax, Dropout, Identity; any
// node on constants alone is evaluated (onnx_const.h). The input must be float32, every name
// defined once, and the weights must compute in float32 (check_float_forward).
// Anything else, or an attribute the IR cannot express, is a UserError naming the node, its
// op type and what is supported.
#pragma once

#include <string>

#include "graph/graph.h"
#include "graph/weights.h"

namespace mcuprune {

struct ImportedOnnx {
  Graph graph;
  WeightMap weights;  // graph.onnx_io holds the ONNX model's input/output names and input layout
};

// Parses ONNX bytes; `where` names the file in errors.
ImportedOnnx import_onnx(const std::string& bytes, const std::string& where);

}  // namespace mcuprune
