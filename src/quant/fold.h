// Inference-time graph simplification before quantisation: BatchNorm folded into the
// conv/dense before it (or turned into a 1x1 depthwise when there is nothing to fold into),
// ReLU/ReLU6 fused into conv/dense/add as their activation, Dropout removed. The result
// computes the same function as the input in inference mode.
#pragma once

#include "graph/graph.h"
#include "graph/weights.h"

namespace mcuprune {

struct FoldedModel {
  Graph graph;
  WeightMap weights;
};

FoldedModel fold_for_inference(const Graph& g, const WeightMap& w);

}  // namespace mcuprune
