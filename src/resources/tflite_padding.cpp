// The TFLite padding decision (see tflite_padding.h).
#include "resources/tflite_padding.h"

#include <string>

namespace mcuprune {

namespace {

bool same_amounts(const PadAmounts& a, const PadAmounts& b) {
  return a.top == b.top && a.bottom == b.bottom && a.left == b.left && a.right == b.right;
}

std::string amounts_text(const PadAmounts& p) {
  return "(top " + std::to_string(p.top) + ", bottom " + std::to_string(p.bottom) + ", left " +
         std::to_string(p.left) + ", right " + std::to_string(p.right) + ")";
}

// Whether every value node i produces is >= 0 by construction, so that its int8 values are
// never below its zero point: a ReLU/ReLU6 (a node, or fused into a conv/dense/add: the int8
// kernels clamp at the zero point), or a max pool or dropout of such a value. The rule reads
// the same on a model before and after folding (fold.h fuses exactly these activations).
bool never_negative(const Graph& g, int i) {
  const Node& n = g.nodes[size_t(i)];
  switch (n.kind) {
    case OpKind::ReLU:
    case OpKind::ReLU6:
      return true;
    case OpKind::Conv2D:
    case OpKind::DepthwiseConv2D:
    case OpKind::Dense:
    case OpKind::Add:
      return n.activation == Activation::ReLU || n.activation == Activation::ReLU6;
    case OpKind::MaxPool:
    case OpKind::Dropout:
      return never_negative(g, n.inputs[0]);
    default:
      return false;
  }
}

[[noreturn]] void refuse(const Node& n, const PadAmounts& p, const std::string& why) {
  throw UserError(n.name + " (" + op_kind_name(n.kind) + "): explicit padding " + amounts_text(p) +
                  " cannot be written in TFLite: " + why +
                  "; use padding equal to SAME, or the mcuprune runtime (profile --runtime mcuprune, "
                  "export --format c), which pads as the model does");
}

}  // namespace

Shape tflite_padded_shape(const Shape& in, const PadAmounts& pad) {
  return {in.h + pad.top + pad.bottom, in.w + pad.left + pad.right, in.c};
}

TflitePadding tflite_padding(const Graph& g, int i) {
  const Node& n = g.nodes[size_t(i)];
  if (n.padding == Padding::Same) return {TflitePadKind::Same, {}};
  if (n.padding == Padding::Valid) return {TflitePadKind::Valid, {}};
  const Shape& in = g.nodes[size_t(n.inputs[0])].out;
  const PadAmounts p = Graph::pad_amounts(n, in);
  if (same_amounts(p, PadAmounts{})) return {TflitePadKind::Valid, {}};
  Node same = n;
  same.padding = Padding::Same;
  if (same_amounts(p, Graph::pad_amounts(same, in))) return {TflitePadKind::Same, {}};
  if (tflite_padded_shape(in, p).elements() > Graph::kMaxElements)
    refuse(n, p, "the padded input would hold more than " + std::to_string(Graph::kMaxElements) + " values");
  switch (n.kind) {
    case OpKind::Conv2D:
    case OpKind::DepthwiseConv2D:
      return {TflitePadKind::PadOp, p};
    case OpKind::MaxPool:
      // (No window lies wholly in the padding: Graph::infer_shapes refuses such pads.)
      // PAD fills with the zero point (real 0), which must never win over a real value.
      // PADV2 could fill with -128, but Arm NN, the TFLite runtime the exports are verified
      // with, does not run PADV2.
      if (!never_negative(g, n.inputs[0]))
        refuse(n, p,
               "a PAD before MAX_POOL_2D fills with real 0, which can exceed the negative values of this "
               "input (it is not a ReLU's output)");
      return {TflitePadKind::PadOp, p};
    case OpKind::AvgPool:
      refuse(n, p,
             "AVERAGE_POOL_2D leaves padded cells out of the average only with SAME padding, and a PAD "
             "before it would count them");
    default:
      throw std::logic_error("tflite_padding: " + n.name + " has no window");
  }
}

}  // namespace mcuprune
