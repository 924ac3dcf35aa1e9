// The deployment view of an IR graph: the operators and activation tensors an int8
// runtime (TensorFlow Lite Micro style) executes. BatchNorm is folded into the conv/dense
// before it, ReLU/ReLU6 are fused into their producer, Dropout disappears, Flatten becomes
// a reshape and GlobalAvgPool a mean. Every resource figure is computed on this view. For
// the TFLite runtimes, explicit padding that SAME cannot express is a PAD operator with its
// own (padded) tensor before the conv/pool, as the TFLite exporter writes it.
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"

namespace mcuprune {

enum class DeployedKind {
  Conv2D,
  DepthwiseConv2D,
  FullyConnected,
  MaxPool,
  AvgPool,
  Mean,        // global average pool
  Add,
  Concat,
  Reshape,     // flatten
  Softmax,
  Activation,  // a ReLU/ReLU6 that could not be fused
  Pad,         // explicit padding of the next op's input, for TFLite (resources/tflite_padding.h)
  FrontEnd,    // the MFCC front end: int16 audio in, int8 features out (runtime/kernels/mfcc.h)
};
const char* deployed_kind_name(DeployedKind k);  // TFLite-style: "CONV_2D", ...

struct DeployedTensor {
  std::string name;  // name of the IR node whose value it holds (after aliasing)
  Shape shape;
  int producer = -1;           // op index; -1 for the model input
  std::vector<int> consumers;  // op indices, in op order
  bool is_model_input = false, is_model_output = false;
  int element_bytes = 1;  // int8; the raw audio a front end reads is int16
  int64_t bytes() const { return shape.elements() * element_bytes; }
};

struct DeployedOp {
  std::string name;  // IR name of the main node (the conv, the pool, ...); a PAD: "<its conv/pool>.pad"
  DeployedKind kind;
  int ir_node = -1;           // main IR node (geometry: kernel, stride, padding); a PAD: its conv/pool
  std::vector<int> fused;     // further IR nodes folded into it (BatchNorm, ReLU)
  std::vector<int> inputs;    // tensor indices
  int output = -1;            // tensor index
  Activation activation = Activation::None;
  bool has_bias = true;       // int8 conv/dense always carry an int32 bias after folding
};

struct DeployedGraph {
  const Graph* graph = nullptr;  // the IR it was made from (must outlive this view)
  std::vector<DeployedTensor> tensors;
  std::vector<DeployedOp> ops;  // in the IR's (given) order
  int input_tensor = -1, output_tensor = -1;
  std::vector<int> tensor_of_node;  // IR node -> tensor holding its value (-1: none)
  std::vector<int> op_of_node;      // IR node -> op that computes it (-1: folded away/input)
};

struct DeployOptions {
  // Explicit padding as TFLite writes it: a PAD op before the conv/pool, which then reads the
  // padded tensor with VALID padding (and padding TFLite cannot express is refused). Off: the
  // conv/pool pads itself (mcuprune's runtime, ONNX).
  bool pad_operators = false;
  // The audio front end as an operator (raw int16 audio in). Off: the model starts at its
  // features (the input tensor has the front end's output shape), as the TFLite and ONNX
  // exports write it; the application computes the features.
  bool front_end = true;
};

// Whether op o is a PAD the TFLite lowering put before the op that reads its output.
bool is_pad_op(const DeployedGraph& d, int o);

// Throws UserError if the graph cannot be deployed (e.g. a softmax in the middle).
DeployedGraph deploy_view(const Graph& g, const DeployOptions& opt = {});

}  // namespace mcuprune
