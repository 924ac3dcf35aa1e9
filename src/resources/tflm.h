// TensorFlow Lite Micro's tensor arena for a model, simulated from TFLM's documented
// allocation rules (docs/notes/tflm-arena.md, docs/resources.md): the head that its greedy
// memory planner lays out (every buffer rounded up to 16 bytes, the model input and output
// included, kernel scratch buffers too) and the persistent tail (the interpreter's
// allocator objects, one TfLiteEvalTensor per tensor, one NodeAndRegistration per operator,
// the parsed operator options, each kernel's OpData and per-channel requantisation arrays,
// the input and output TfLiteTensors and their quantisation). Used by the `tflm` and
// `tflm-cmsis-nn` runtime profiles.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "resources/deployed.h"

namespace mcuprune {

struct TflmArena {
  int64_t head_bytes = 0;  // the planner's arena for activations and scratch
  int64_t tail_bytes = 0;  // persistent allocations
  std::vector<std::pair<std::string, int64_t>> tail_items;  // what the tail holds
  int64_t total() const { return head_bytes + tail_bytes; }
};

// d's TFLite model as mcuprune's exporter writes it (activations, then per weighted op its
// weight and bias tensors, a shape tensor per reshape, a paddings tensor per PAD; a view made
// with DeployOptions::pad_operators has the PAD ops and their padded tensors), run in `order`;
// `scratch_bytes` per op (0 for the reference kernels); `pointer_bytes` 4 for a Cortex-M, 8
// for a 64-bit host build.
TflmArena tflm_arena(const DeployedGraph& d, const std::vector<int>& order, const std::vector<int64_t>& scratch_bytes,
                     bool cmsis_nn, int pointer_bytes);

}  // namespace mcuprune
