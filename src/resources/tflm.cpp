// TFLM arena simulation (see tflm.h). Sizes of TFLM's structs are derived from their field
// lists for a 32-bit or 64-bit target; where the sources leave a size uncertain the larger
// reading is taken, so that the prediction errs high.
#include "resources/tflm.h"

#include "resources/memory.h"

#include <algorithm>

namespace mcuprune {

namespace {

int64_t align_up(int64_t v, int64_t a) { return (v + a - 1) / a * a; }

// TFLM's GreedyMemoryPlanner: buffers in reverse order of addition, stably sorted by size
// (largest first), then first fit.
int64_t greedy_head(const std::vector<int64_t>& size, const std::vector<int>& first, const std::vector<int>& last) {
  std::vector<int> idx;
  for (int k = int(size.size()) - 1; k >= 0; --k) idx.push_back(k);
  std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return size[size_t(a)] > size[size_t(b)]; });
  std::vector<int64_t> offset;
  return first_fit(size, first, last, idx, offset);
}

}  // namespace

TflmArena tflm_arena(const DeployedGraph& d, const std::vector<int>& order, const std::vector<int64_t>& scratch_bytes,
                     bool cmsis_nn, int pointer_bytes) {
  const int64_t P = pointer_bytes;
  const bool wide = P == 8;
  TflmArena a;
  // ---- head: activations (TFLite tensor order: by deployed tensor index), then scratch ----
  const int m = int(order.size());
  std::vector<int> pos(d.ops.size(), 0);
  for (int s = 0; s < m; ++s) pos[size_t(order[size_t(s)])] = s;
  std::vector<int64_t> size;
  std::vector<int> first, last;
  for (const DeployedTensor& t : d.tensors) {
    int f = t.producer < 0 ? 0 : pos[size_t(t.producer)], l = f;
    for (int c : t.consumers) l = std::max(l, pos[size_t(c)]);
    if (t.is_model_output) l = m - 1;
    size.push_back(align_up(t.bytes(), 16));
    first.push_back(f);
    last.push_back(l);
  }
  int n_scratch = 0;
  for (int s = 0; s < m; ++s) {
    const int64_t b = scratch_bytes[size_t(order[size_t(s)])];
    if (b <= 0) continue;
    size.push_back(align_up(b, 16));
    first.push_back(s);
    last.push_back(s);
    ++n_scratch;
  }
  a.head_bytes = greedy_head(size, first, last);

  // ---- tail ----
  auto item = [&](const std::string& what, int64_t bytes) {
    if (bytes > 0) a.tail_items.push_back({what, bytes});
  };
  int64_t n_tensors = int64_t(d.tensors.size());
  for (const DeployedOp& op : d.ops) {
    if (op.kind == DeployedKind::Conv2D || op.kind == DeployedKind::DepthwiseConv2D ||
        op.kind == DeployedKind::FullyConnected)
      n_tensors += 2;
    if (op.kind == DeployedKind::Reshape) n_tensors += 1;  // the new-shape tensor
    if (op.kind == DeployedKind::Pad) n_tensors += 1;      // the paddings tensor
  }
  // The allocator objects TFLM places in the arena at creation (their vtables make these
  // estimates; the larger reading is used).
  item("allocator objects (buffer allocator, memory planner, MicroAllocator)", wide ? 216 : 120);
  item("MicroBuiltinDataAllocator and SubgraphAllocations", 4 * P);
  item("TfLiteEvalTensor per tensor (" + std::to_string(n_tensors) + ")", n_tensors * 3 * P);
  item("NodeAndRegistration per operator (" + std::to_string(d.ops.size()) + ")", int64_t(d.ops.size()) * 8 * P);
  int64_t options = 0, op_data = 0;
  for (const DeployedOp& op : d.ops) {
    const int64_t c = d.tensors[size_t(op.output)].shape.c;
    const int64_t conv_data = align_up(wide ? 72 : 56, 16) + (cmsis_nn ? 16 : 0);
    switch (op.kind) {
      case DeployedKind::Conv2D:
      case DeployedKind::DepthwiseConv2D:
        options += 28;
        op_data += conv_data + 2 * align_up(4 * c, 16);  // OpData + per-channel multiplier, shift
        break;
      case DeployedKind::FullyConnected:
        options += 16;
        op_data += cmsis_nn ? align_up(wide ? 104 : 76, 16) : (wide ? 64 : 48);
        break;
      case DeployedKind::MaxPool:
      case DeployedKind::AvgPool:
      case DeployedKind::Mean:  // exported as AVERAGE_POOL_2D over the whole map
        options += 40;
        op_data += cmsis_nn ? 48 : 32;
        break;
      case DeployedKind::Add:
        options += 8;
        op_data += 64;
        break;
      case DeployedKind::Concat:
        options += 8;
        op_data += align_up(wide ? 40 : 24, 16) + 2 * align_up(4 * int64_t(op.inputs.size()), 16);
        break;
      case DeployedKind::Reshape:
        options += 36;
        break;
      case DeployedKind::Softmax:
        options += 4;
        op_data += wide ? 80 : 64;
        break;
      case DeployedKind::Activation:
        op_data += 16;
        break;
      case DeployedKind::Pad:
        // No parsed options (ParsePad allocates none); OpData = PadParams (two counts and
        // two int32[5] arrays, 52 B) + the output zero point, 16-aligned. The paddings are read
        // into it at Prepare; the CMSIS-NN PAD keeps the same OpData.
        op_data += align_up(52 + 4, 16);
        break;
      case DeployedKind::FrontEnd:
        // Not a TFLite operator: the application runs it on its own buffers. Counted here as
        // an operator whose tensors share the arena plan, which holds the same bytes.
        break;
    }
  }
  item("parsed operator options", options);
  item("kernel OpData and per-channel requantisation arrays", op_data);
  item("scratch buffer handles (" + std::to_string(n_scratch) + ")", n_scratch * P);
  // Input and output: a TfLiteTensor* array (16-aligned), a persistent TfLiteTensor, and its
  // TfLiteAffineQuantization with a copied zero-point array (one per-tensor value).
  const int64_t io = 16 + (wide ? 64 : 40) + 3 * P + 8;
  item("input and output TfLiteTensors with quantisation", 2 * io);
  for (const auto& [what, bytes] : a.tail_items) a.tail_bytes += bytes;
  return a;
}

}  // namespace mcuprune
