// ONNX values known at import time: initializers, Constant nodes, and what nodes compute from
// those alone (PyTorch without constant folding writes Clip's bounds as Cast(Constant), and
// F.pad's pads as Shape/Gather/Sub/ConstantOfShape/Concat/Reshape/Slice/Transpose/Cast of
// constants). The importer (onnx_import.cpp) evaluates such nodes with `evaluate`. Semantics
// are those of the ONNX operator specs (numpy-style broadcasting, Slice/Gather index rules).
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace mcuprune::onnx_const {

// What is wrong with a constant or a node on constants; the importer adds where.
struct ConstError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Const {
  std::vector<int64_t> dims;
  std::vector<float> f;    // float values (FLOAT, DOUBLE)
  std::vector<int64_t> i;  // integer values (INT64, INT32, ..., BOOL as 0/1)
  bool is_float = false;
  int64_t numel() const;
};

// Computed constants are small (shapes, pads, bounds, weights): more values than this is
// refused rather than allocated.
constexpr int64_t kMaxComputedValues = int64_t(1) << 24;

// A tensor's values (FLOAT, DOUBLE, INT64, INT32, INT8, UINT8, BOOL; raw or typed fields).
Const read_tensor(const ONNX_NAMESPACE::TensorProto& t, const std::string& what);

// The ops `evaluate` knows, for messages.
const char* evaluable_ops();

// Node n's first output from its inputs, all constants (`in[k]` null for an omitted
// optional input). Throws ConstError saying what is wrong (an op it cannot evaluate, bad
// shapes, a NaN or infinite result, too many values).
Const evaluate(const ONNX_NAMESPACE::NodeProto& n, const std::vector<const Const*>& in);

}  // namespace mcuprune::onnx_const
