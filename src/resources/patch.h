// Patch-based execution of the memory-bound first stage (after MCUNetV2, Lin et al. 2021).
//
// A patch stage is the prefix of the deployed graph that computes one tensor, the cut: every
// op the cut depends on. Its output is split into an R x C grid of patches; the stage runs
// patch by patch, each op of the stage computing only the window of its output that the
// patch needs (its receptive field: a conv or pool with kernel k, dilation d, stride s and
// leading padding p needs input rows [a*s - p, b*s - p + (k-1)*d] for output rows [a, b],
// clipped to the map). Windows of neighbouring patches overlap (the halo), so the stage does
// more MACs than layer-by-layer execution, while only one patch's windows are live at a time.
//
// Memory model (what mcuprune's C runtime allocates; docs/resources.md):
// - the model input and the cut are held whole for the whole stage;
// - every other tensor of the stage has one buffer, sized for its largest window over the
//   patches, live within a patch from its producer to its last consumer in the stage order;
// - with more than one column of patches (C > 1), a window is not contiguous in a whole HWC
//   tensor: the input's window is copied into a buffer before the patch's first op, and the
//   cut's window is computed into a buffer and copied into the cut afterwards. With C = 1
//   the windows are full rows, read and written in place;
// - the rest of the network runs layer by layer from the cut under its optimal order.
// Peak = max(the stage's peak over its steps and patches, the rest's peak).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "resources/board.h"
#include "resources/deployed.h"
#include "resources/formulas.h"
#include "resources/memory.h"

namespace mcuprune {

struct PatchWindow {
  int y0 = 0, y1 = -1, x0 = 0, x1 = -1;  // inclusive; empty when y1 < y0
  int64_t area() const { return y1 < y0 || x1 < x0 ? 0 : int64_t(y1 - y0 + 1) * (x1 - x0 + 1); }
};

// The geometry of a plan: independent of the channel counts, so that one geometry serves the
// exact model (integers) and the differentiable one (soft widths).
struct PatchGeometry {
  int cut = -1;  // deployed tensor index
  int rows = 1, cols = 1;
  std::vector<int> stage_ops;             // the given order restricted to the stage
  std::vector<char> in_stage;             // per tensor: produced by a stage op
  std::vector<int64_t> window_area;       // per tensor: largest window area over the patches
  std::vector<int64_t> op_area;           // per op: sum over patches of its output window area
  std::vector<std::vector<PatchWindow>> windows;  // [patch][tensor]: windows of stage tensors and the input
  bool copy_windows() const { return cols > 1; }
  int patches() const { return rows * cols; }
};

// Why tensor `cut` cannot end a patch stage ("" when it can): an op of its prefix is not
// spatially local (dense, mean, reshape, softmax, TFLite PAD), a tensor of the prefix is also
// read after the stage, or the cut has fewer than two pixels.
std::string patch_cut_problem(const DeployedGraph& d, int cut);
// Throws UserError when the cut is invalid or the grid does not fit the cut (1 <= R <= H,
// 1 <= C <= W).
PatchGeometry patch_geometry(const DeployedGraph& d, int cut, int rows, int cols);
// "RxC@TENSOR" (TENSOR: the IR name of a node whose value the cut holds, as in the profile).
struct PatchSpec {
  enum Kind { None, Auto, Fixed } kind = None;
  int rows = 0, cols = 0;
  std::string tensor;
};
PatchSpec parse_patch_spec(const std::string& text);  // throws UserError
int find_cut_tensor(const DeployedGraph& d, const std::string& name);  // throws UserError

// Bytes of the plan's tables in flash, as mcuprune's C export writes them for a 32-bit
// target: every patch's window of the input and of every stage op's output (four int16
// values each), a 16-byte record per stage tensor, the stage ops' input numbers (int32) and
// the plan's own 24-byte record.
inline int64_t patch_table_bytes(const DeployedGraph& d, const PatchGeometry& g) {
  int64_t inputs = 0;
  for (int o : g.stage_ops) inputs += int64_t(d.ops[size_t(o)].inputs.size());
  const int64_t tensors = int64_t(g.stage_ops.size()) + 1;
  return int64_t(g.patches()) * tensors * 4 * 2 + tensors * 16 + inputs * 4 + 24;
}

// Memory of one patch's steps (aligned with g.stage_ops), the largest over the patches since
// every buffer is sized for its largest window. `tensor_bytes`: whole tensors (graph_costs);
// `scratch_bytes`: per op.
template <class T>
std::vector<T> patch_stage_steps(const DeployedGraph& d, const PatchGeometry& g, const std::vector<T>& ch,
                                 const std::vector<T>& tensor_bytes, const std::vector<T>& scratch_bytes) {
  const size_t m = g.stage_ops.size();
  std::vector<int> pos(d.ops.size(), -1);
  for (size_t s = 0; s < m; ++s) pos[size_t(g.stage_ops[s])] = int(s);
  const int in = d.input_tensor;
  // The whole input and the whole cut, for every step of every patch.
  const T whole = tensor_bytes[size_t(in)] + tensor_bytes[size_t(g.cut)];
  std::vector<T> steps;
  for (size_t s = 0; s < m; ++s) {
    const int o = g.stage_ops[s];
    T mem = whole + scratch_bytes[size_t(o)];
    for (size_t t = 0; t < d.tensors.size(); ++t) {
      const bool input_copy = int(t) == in && g.copy_windows();
      const bool cut_copy = int(t) == g.cut && g.copy_windows();
      if (!(g.in_stage[t] && int(t) != g.cut) && !input_copy && !cut_copy) continue;
      const DeployedTensor& tt = d.tensors[t];
      int first = tt.producer < 0 ? 0 : pos[size_t(tt.producer)];
      int last = first;
      for (int c : tt.consumers)
        if (pos[size_t(c)] >= 0) last = std::max(last, pos[size_t(c)]);
      if (cut_copy) last = int(m) - 1;  // copied into the cut once the patch is done
      if (int(s) < first || int(s) > last) continue;
      mem = mem + ch[t] * g.window_area[t];
    }
    steps.push_back(mem);
  }
  return steps;
}

// MACs and element operations of a stage op under the plan: its layer-by-layer figures per
// output pixel times the pixels it computes over all patches (exact: the figures are
// multiples of the output area).
template <class T>
OpCosts<T> patched_op_costs(const DeployedGraph& d, const PatchGeometry& g, int o, OpCosts<T> c) {
  if (g.op_area[size_t(o)] == 0) return c;
  const Shape& os = d.tensors[size_t(d.ops[size_t(o)].output)].shape;
  const int64_t hw = int64_t(os.h) * os.w;
  c.macs = c.macs * g.op_area[size_t(o)] / hw;
  c.kernel_macs = c.kernel_macs * g.op_area[size_t(o)] / hw;
  c.element_ops = c.element_ops * g.op_area[size_t(o)] / hw;
  c.outputs = c.outputs * g.op_area[size_t(o)] / hw;
  c.columns = c.columns * g.op_area[size_t(o)] / hw;
  // A window's border: its pixels at the input's edges (the padding) plus those at the
  // window's own edges, which are inside: the layer's edge outputs stay an estimate.
  // (Pixels scaled in integers, then times the channels: the same figure for every number type.)
  if (c.edge_pixel_count > 0) {
    const int64_t scaled = c.edge_pixel_count * g.op_area[size_t(o)] / hw;
    c.edge_outputs = c.edge_outputs / c.edge_pixel_count * scaled;
    c.edge_pixel_count = scaled;
  }
  c.channels = c.channels * int64_t(g.patches());  // set up again in every patch
  c.pixels = g.op_area[size_t(o)];
  return c;
}

// MACs, element operations and latency of the whole graph under a plan: stage ops patched,
// each paying its fixed cost once per patch, and the windows' copies (C > 1) as element
// operations. `op_latency` receives each op's latency (window copies not included).
template <class T>
struct PatchedTotals {
  T macs, element_ops;
  typename NumOps<T>::Real latency_ms;
  std::vector<T> op_macs;
  std::vector<typename NumOps<T>::Real> op_latency_ms;
};
template <class T>
PatchedTotals<T> patched_totals(const DeployedGraph& d, const PatchGeometry& g, const std::vector<T>& ch,
                                const std::vector<OpCosts<T>>& costs, const Board& board, const RuntimeProfile& rt) {
  const T zero = NumOps<T>::zero(ch.at(0));
  PatchedTotals<T> r{zero, zero, NumOps<T>::real(zero), {}, {}};
  const double ms_per_cycle = 1e-3 / board.clock_mhz;
  for (size_t o = 0; o < d.ops.size(); ++o) {
    const OpCosts<T> c = patched_op_costs(d, g, int(o), costs[o]);
    r.macs = r.macs + c.macs;
    r.element_ops = r.element_ops + c.element_ops;
    auto lat = op_latency_ms(d.ops[o], c, board, rt);
    if (g.op_area[o] > 0) {  // its fixed cost once per patch
      const double fixed_ms = rt.has_instruction_model
                                  ? kernel_instructions(d.ops[o], c.scratch_kernel, rt, board).fixed *
                                        board.latency.cycles_per_instruction * ms_per_cycle
                                  : board.latency.op_fixed_cycles * ms_per_cycle;
      lat = lat + double(g.patches() - 1) * fixed_ms;
    }
    r.op_macs.push_back(c.macs);
    r.op_latency_ms.push_back(lat);
    r.latency_ms = r.latency_ms + lat;
  }
  if (g.copy_windows()) {  // the input's windows copied in, the cut's copied out
    T copies = zero;
    for (const auto& w : g.windows)
      copies = copies + ch[size_t(d.input_tensor)] * w[size_t(d.input_tensor)].area() +
               ch[size_t(g.cut)] * w[size_t(g.cut)].area();
    r.element_ops = r.element_ops + copies;
    const double per_copy = rt.has_instruction_model ? (board.latency.dsp ? rt.instructions_dsp : rt.instructions_portable).copy.per_element *
                                                           board.latency.cycles_per_instruction
                                                     : board.latency.eltwise_cycles_per_op;
    r.latency_ms = r.latency_ms + NumOps<T>::real(copies) * (per_copy * ms_per_cycle);
  }
  return r;
}

// Peak memory of a plan: one patch's steps for the stage, and the rest along `order` (a
// plan's schedule order) with the stage's own tensors and scratch taking no room.
template <class T>
T patched_peak(const DeployedGraph& d, const PatchGeometry& g, const std::vector<int>& order, const std::vector<T>& ch,
               const std::vector<T>& tensor_bytes, const std::vector<T>& scratch_bytes, bool inplace_add,
               std::vector<T>* stage_steps = nullptr, OrderMemory<T>* rest = nullptr) {
  std::vector<T> stage = patch_stage_steps(d, g, ch, tensor_bytes, scratch_bytes);
  std::vector<T> rest_bytes = tensor_bytes, rest_scratch = scratch_bytes;
  const T zero = NumOps<T>::zero(ch.at(0));
  for (size_t t = 0; t < d.tensors.size(); ++t)
    if (g.in_stage[t] && int(t) != g.cut) rest_bytes[t] = zero;
  for (int o : g.stage_ops) rest_scratch[size_t(o)] = zero;
  OrderMemory<T> mem = order_memory(d, order, rest_bytes, rest_scratch, inplace_add);
  T peak = mem.peak_bytes;  // its stage steps hold the input and the cut: below the stage's own
  for (const T& s : stage) peak = NumOps<T>::max(peak, s);
  if (stage_steps) *stage_steps = std::move(stage);
  if (rest) *rest = std::move(mem);
  return peak;
}

// The exact figures of a plan for the graph's own channel counts.
struct PatchFigures {
  PatchGeometry geometry;
  std::vector<int64_t> stage_steps;  // one patch's steps, aligned with geometry.stage_ops
  int64_t stage_peak = 0;
  MemorySchedule rest;               // the optimal order with the stage's tensors taking no room
  // What runs: the stage's ops (their steps: one patch's), then the other ops in the rest's
  // order; its peak is the plan's.
  MemorySchedule schedule;
  int64_t rest_peak = 0;             // the largest step after the stage
  int64_t peak_bytes = 0;            // max(stage_peak, rest_peak)
  int64_t macs = 0, element_ops = 0; // whole graph, stage ops patched, window copies included
  int64_t layer_macs = 0;            // whole graph, layer by layer
  int64_t table_bytes = 0;           // flash of the plan's tables
  double latency_ms = 0;             // whole graph
  std::vector<int64_t> op_macs;      // per op, patched
  std::vector<double> op_latency_ms; // per op, patched (per-patch fixed costs included)
  double mac_overhead() const { return layer_macs ? double(macs) / double(layer_macs) - 1 : 0; }
};

// `rest`: the rest's schedule when already known for this cut (it does not depend on the grid).
PatchFigures patch_figures(const DeployedGraph& d, const PatchGeometry& g, const RuntimeProfile& rt,
                           const Board& board, bool inplace_add, const MemorySchedule* rest = nullptr);

// The plan with the lowest peak whose MACs exceed layer-by-layer execution's by at most
// `max_overhead` (0.2: 20%), over every valid cut and every grid up to 8 x 8; ties go to
// fewer MACs. None (false) when no plan lowers the peak below `layer_peak`.
struct PatchSearch {
  bool found = false;
  PatchFigures best;
  int cuts_tried = 0, plans_tried = 0;
};
PatchSearch best_patch_plan(const DeployedGraph& d, const RuntimeProfile& rt, const Board& board,
                            bool inplace_add, double max_overhead, int64_t layer_peak, int max_grid = 8);

}  // namespace mcuprune
