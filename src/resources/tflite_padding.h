// How a convolution's or pool's padding is written in TFLite, whose window operators know
// only SAME and VALID. One decision shared by the TFLite exporter and the deployment view
// of the TFLite runtimes (deployed.h), so that what `profile` counts is what `export` writes
// and what one refuses the other refuses with the same words.
#pragma once

#include "graph/graph.h"

namespace mcuprune {

enum class TflitePadKind {
  Same,   // the window operator with SAME padding (equal to the node's padding)
  Valid,  // the window operator with VALID padding (no padding)
  PadOp,  // a PAD operator (int8: fills with the zero point, real 0), then a VALID window
};

struct TflitePadding {
  TflitePadKind kind = TflitePadKind::Valid;
  PadAmounts pad;  // PadOp: what the PAD operator adds on each side
};

// The padding of node i of g (a conv2d, depthwise_conv2d, max or average pool whose input
// shape is inferred). PAD before a convolution is exact: the integer reference's padded taps
// contribute (zero point - zero point) * w = 0. Before a max pool it is exact only when no
// real value is below the zero point (the input is a ReLU's output), and every window must
// hold a real value. An average pool leaves padded cells out of its count, which only
// TFLite's SAME does. Throws UserError naming the node, why, and what to do otherwise.
TflitePadding tflite_padding(const Graph& g, int i);

// The padded shape a PadOp lowering writes (the input shape plus the padding).
Shape tflite_padded_shape(const Shape& in, const PadAmounts& pad);

}  // namespace mcuprune
