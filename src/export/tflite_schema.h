// The subset of the TensorFlow Lite flatbuffer format mcuprune writes, as numbers: enum
// values and field ids taken from the format's public schema (tensorflow/lite/schema,
// schema.fbs). No generated code: tflite.cpp builds the tables with flatbuffers' generic
// builder, so this file is the whole contract. A table field with id k lives at vtable
// offset 4 + 2k; a union occupies two ids (its type byte, then the table).
#pragma once

#include <cstdint>

namespace mcuprune::tfl {

constexpr const char* kFileIdentifier = "TFL3";
constexpr uint32_t kSchemaVersion = 3;

constexpr uint16_t field(int id) { return uint16_t(4 + 2 * id); }

enum TensorType : int8_t { kFloat32 = 0, kInt32 = 2, kInt8 = 9 };

enum BuiltinOperator : int32_t {
  kAdd = 0,
  kAveragePool2D = 1,
  kConcatenation = 2,
  kConv2D = 3,
  kDepthwiseConv2D = 4,
  kDequantize = 6,
  kFullyConnected = 9,
  kMaxPool2D = 17,
  kRelu = 19,
  kRelu6 = 21,
  kReshape = 22,
  kSoftmax = 25,
  kPad = 34,  // int8: fills with the output's zero point (PADV2, 60, is not written: see tflite.cpp)
  kQuantize = 114,
};

// union BuiltinOptions: 1-based position of the member table.
enum BuiltinOptions : uint8_t {
  kNoOptions = 0,
  kConv2DOptions = 1,
  kDepthwiseConv2DOptions = 2,
  kPool2DOptions = 5,
  kFullyConnectedOptions = 8,
  kSoftmaxOptions = 9,
  kConcatenationOptions = 10,
  kAddOptions = 11,
  kReshapeOptions = 17,
  kPadOptions = 22,  // an empty table
};

enum Padding : int8_t { kSame = 0, kValid = 1 };
enum ActivationFunction : int8_t { kActNone = 0, kActRelu = 1, kActRelu6 = 3 };

// Field ids per table.
namespace model { constexpr int version = 0, operator_codes = 1, subgraphs = 2, description = 3, buffers = 4; }
namespace operator_code { constexpr int deprecated_builtin_code = 0, version = 2, builtin_code = 3; }
namespace subgraph { constexpr int tensors = 0, inputs = 1, outputs = 2, operators = 3, name = 4; }
namespace buffer { constexpr int data = 0; }
namespace tensor { constexpr int shape = 0, type = 1, buffer = 2, name = 3, quantization = 4; }
namespace quantization { constexpr int scale = 2, zero_point = 3, quantized_dimension = 6; }
namespace op { constexpr int opcode_index = 0, inputs = 1, outputs = 2, builtin_options_type = 3, builtin_options = 4; }
namespace conv2d_options {
constexpr int padding = 0, stride_w = 1, stride_h = 2, fused_activation = 3, dilation_w = 4, dilation_h = 5;
}
namespace depthwise_options {
constexpr int padding = 0, stride_w = 1, stride_h = 2, depth_multiplier = 3, fused_activation = 4, dilation_w = 5,
              dilation_h = 6;
}
namespace pool2d_options {
constexpr int padding = 0, stride_w = 1, stride_h = 2, filter_width = 3, filter_height = 4, fused_activation = 5;
}
namespace fully_connected_options { constexpr int fused_activation = 0; }
namespace softmax_options { constexpr int beta = 0; }
namespace concatenation_options { constexpr int axis = 0, fused_activation = 1; }
namespace add_options { constexpr int fused_activation = 0; }
namespace reshape_options { constexpr int new_shape = 0; }

}  // namespace mcuprune::tfl
