#include "resources/patch.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include "graph/graph.h"

namespace mcuprune {

namespace {

bool spatially_local(DeployedKind k) {
  switch (k) {
    case DeployedKind::Conv2D:
    case DeployedKind::DepthwiseConv2D:
    case DeployedKind::MaxPool:
    case DeployedKind::AvgPool:
    case DeployedKind::Add:
    case DeployedKind::Concat:
    case DeployedKind::Activation:
      return true;
    default:
      return false;
  }
}

bool has_window(DeployedKind k) {
  return k == DeployedKind::Conv2D || k == DeployedKind::DepthwiseConv2D || k == DeployedKind::MaxPool ||
         k == DeployedKind::AvgPool;
}

// Ops the cut depends on (including its producer), as a flag per op.
std::vector<char> prefix_of(const DeployedGraph& d, int cut) {
  std::vector<char> in(d.ops.size(), 0);
  std::vector<int> stack{cut};
  while (!stack.empty()) {
    const int t = stack.back();
    stack.pop_back();
    const int p = d.tensors[size_t(t)].producer;
    if (p < 0 || in[size_t(p)]) continue;
    in[size_t(p)] = 1;
    for (int i : d.ops[size_t(p)].inputs) stack.push_back(i);
  }
  return in;
}

// Input interval of one axis for output rows [a, b].
void input_interval(int a, int b, int kernel, int stride, int dilation, int pad, int extent, int& lo, int& hi) {
  lo = std::max(0, a * stride - pad);
  hi = std::min(extent - 1, b * stride - pad + (kernel - 1) * dilation);
}

void hull(PatchWindow& w, const PatchWindow& add) {
  if (add.area() == 0) return;
  if (w.area() == 0) {
    w = add;
    return;
  }
  w.y0 = std::min(w.y0, add.y0), w.y1 = std::max(w.y1, add.y1);
  w.x0 = std::min(w.x0, add.x0), w.x1 = std::max(w.x1, add.x1);
}

}  // namespace

std::string patch_cut_problem(const DeployedGraph& d, int cut) {
  if (cut < 0 || size_t(cut) >= d.tensors.size()) return "no such tensor";
  const DeployedTensor& ct = d.tensors[size_t(cut)];
  if (ct.producer < 0) return "it is the model input: a stage needs at least one operator";
  if (int64_t(ct.shape.h) * ct.shape.w < 2) return "it has a single pixel: there is nothing to split";
  if (ct.is_model_output) return "it is the model output";
  const std::vector<char> in = prefix_of(d, cut);
  for (size_t o = 0; o < d.ops.size(); ++o) {
    if (!in[o]) continue;
    const DeployedOp& op = d.ops[o];
    if (!spatially_local(op.kind) || is_pad_op(d, int(o)))
      return "its prefix holds '" + op.name + "' (" + deployed_kind_name(op.kind) +
             "), which is not a spatially local operator";
    if (int(o) != ct.producer)
      for (int c : d.tensors[size_t(op.output)].consumers)
        if (!in[size_t(c)])
          return "'" + d.tensors[size_t(op.output)].name + "' of its prefix is also read by '" + d.ops[size_t(c)].name +
                 "' after the stage";
  }
  return "";
}

PatchGeometry patch_geometry(const DeployedGraph& d, int cut, int rows, int cols) {
  const std::string problem = patch_cut_problem(d, cut);
  if (!problem.empty())
    throw UserError("tensor '" + (cut >= 0 && size_t(cut) < d.tensors.size() ? d.tensors[size_t(cut)].name : "?") +
                    "' cannot end a patch stage: " + problem);
  const Shape& cs = d.tensors[size_t(cut)].shape;
  if (rows < 1 || cols < 1 || rows > cs.h || cols > cs.w)
    throw UserError("patch grid " + std::to_string(rows) + "x" + std::to_string(cols) + " does not fit '" +
                    d.tensors[size_t(cut)].name + "' (" + std::to_string(cs.h) + "x" + std::to_string(cs.w) +
                    "): rows must be in [1, " + std::to_string(cs.h) + "] and columns in [1, " +
                    std::to_string(cs.w) + "]");
  PatchGeometry g;
  g.cut = cut, g.rows = rows, g.cols = cols;
  const std::vector<char> in = prefix_of(d, cut);
  for (size_t o = 0; o < d.ops.size(); ++o)
    if (in[o]) g.stage_ops.push_back(int(o));
  g.in_stage.assign(d.tensors.size(), 0);
  for (int o : g.stage_ops) g.in_stage[size_t(d.ops[size_t(o)].output)] = 1;
  g.window_area.assign(d.tensors.size(), 0);
  g.op_area.assign(d.ops.size(), 0);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      std::vector<PatchWindow> w(d.tensors.size());
      // Near-equal splits, the larger parts first: part i of n covers [i*H/n, (i+1)*H/n).
      w[size_t(cut)] = PatchWindow{int(int64_t(r) * cs.h / rows), int(int64_t(r + 1) * cs.h / rows) - 1,
                                   int(int64_t(c) * cs.w / cols), int(int64_t(c + 1) * cs.w / cols) - 1};
      for (auto it = g.stage_ops.rbegin(); it != g.stage_ops.rend(); ++it) {
        const DeployedOp& op = d.ops[size_t(*it)];
        const PatchWindow& out = w[size_t(op.output)];
        for (int i : op.inputs) {
          PatchWindow need = out;
          if (has_window(op.kind) && out.area() > 0) {
            const Node& n = d.graph->nodes[size_t(op.ir_node)];
            const Shape& is = d.tensors[size_t(i)].shape;
            const PadAmounts p = Graph::pad_amounts(n, is);
            input_interval(out.y0, out.y1, n.kernel_h, n.stride_h, n.dilation_h, p.top, is.h, need.y0, need.y1);
            input_interval(out.x0, out.x1, n.kernel_w, n.stride_w, n.dilation_w, p.left, is.w, need.x0, need.x1);
          }
          hull(w[size_t(i)], need);
        }
      }
      for (size_t t = 0; t < d.tensors.size(); ++t) g.window_area[t] = std::max(g.window_area[t], w[t].area());
      for (int o : g.stage_ops) g.op_area[size_t(o)] += w[size_t(d.ops[size_t(o)].output)].area();
      g.windows.push_back(std::move(w));
    }
  return g;
}

PatchSpec parse_patch_spec(const std::string& text) {
  PatchSpec s;
  if (text.empty() || text == "none") return s;
  if (text == "auto") {
    s.kind = PatchSpec::Auto;
    return s;
  }
  const std::string bad = "--patch '" + text + "': expected none, auto or RxC@TENSOR (e.g. 4x4@pool1)";
  const size_t at = text.find('@'), x = text.find('x');
  if (at == std::string::npos || x == std::string::npos || x > at || at + 1 >= text.size()) throw UserError(bad);
  auto number = [&](const std::string& v) {
    if (v.empty() || v.size() > 4 || !std::all_of(v.begin(), v.end(), [](char ch) { return std::isdigit(ch); }))
      throw UserError(bad);
    return std::stoi(v);
  };
  s.kind = PatchSpec::Fixed;
  s.rows = number(text.substr(0, x));
  s.cols = number(text.substr(x + 1, at - x - 1));
  s.tensor = text.substr(at + 1);
  if (s.rows < 1 || s.cols < 1) throw UserError(bad + " (rows and columns are at least 1)");
  return s;
}

int find_cut_tensor(const DeployedGraph& d, const std::string& name) {
  const Graph& g = *d.graph;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (g.nodes[i].name == name) {
      const int t = d.tensor_of_node[i];
      if (t >= 0) return t;
      throw UserError("--patch: node '" + name + "' has no tensor of its own in the deployed model (folded away)");
    }
  for (size_t t = 0; t < d.tensors.size(); ++t)
    if (d.tensors[t].name == name) return int(t);
  std::string valid;
  for (size_t t = 0; t < d.tensors.size(); ++t)
    if (patch_cut_problem(d, int(t)).empty()) valid += (valid.empty() ? "" : ", ") + d.tensors[t].name;
  throw UserError("--patch: no tensor named '" + name + "'; tensors that can end a stage: " +
                  (valid.empty() ? "none" : valid));
}

PatchFigures patch_figures(const DeployedGraph& d, const PatchGeometry& g, const RuntimeProfile& rt,
                           const Board& board, bool inplace_add, const MemorySchedule* rest) {
  PatchFigures f;
  f.geometry = g;
  const std::vector<int64_t> ch = propagate_channels(d, exact_free_channels(d));
  const GraphCosts<int64_t> costs = graph_costs(d, ch, rt, board);
  std::vector<int64_t> scratch;
  for (const auto& c : costs.ops) scratch.push_back(c.scratch_bytes);
  if (rest) {
    f.rest = *rest;
  } else {  // the optimal order with the stage's own tensors and scratch taking no room
    std::vector<int64_t> rest_bytes = costs.tensor_bytes, rest_scratch = scratch;
    for (size_t t = 0; t < d.tensors.size(); ++t)
      if (g.in_stage[t] && int(t) != g.cut) rest_bytes[t] = 0;
    for (int o : g.stage_ops) rest_scratch[size_t(o)] = 0;
    f.rest = schedule_optimal(d, rest_bytes, rest_scratch, inplace_add);
  }
  // What runs: the stage (patch by patch), then the rest's other ops in the rest's order.
  std::vector<int> order = g.stage_ops;
  for (int o : f.rest.order)
    if (g.op_area[size_t(o)] == 0) order.push_back(o);
  OrderMemory<int64_t> mem;
  f.peak_bytes = patched_peak(d, g, order, ch, costs.tensor_bytes, scratch, inplace_add, &f.stage_steps, &mem);
  f.stage_peak = *std::max_element(f.stage_steps.begin(), f.stage_steps.end());
  f.schedule.order = order;
  f.schedule.step_bytes = mem.step_bytes;
  for (size_t s = 0; s < g.stage_ops.size(); ++s) f.schedule.step_bytes[s] = f.stage_steps[s];
  f.rest_peak = 0;
  for (size_t s = g.stage_ops.size(); s < order.size(); ++s) f.rest_peak = std::max(f.rest_peak, mem.step_bytes[s]);
  f.schedule.bottleneck_step = int(std::max_element(f.schedule.step_bytes.begin(), f.schedule.step_bytes.end()) -
                                   f.schedule.step_bytes.begin());
  f.schedule.peak_bytes = f.schedule.step_bytes[size_t(f.schedule.bottleneck_step)];
  f.schedule.states_explored = f.rest.states_explored;
  f.schedule.search_complete = f.rest.search_complete;
  f.table_bytes = patch_table_bytes(d, g);
  const PatchedTotals<int64_t> tot = patched_totals(d, g, ch, costs.ops, board, rt);
  for (const auto& c : costs.ops) f.layer_macs += c.macs;
  f.macs = tot.macs;
  f.element_ops = tot.element_ops;
  f.latency_ms = tot.latency_ms;
  f.op_macs = tot.op_macs;
  f.op_latency_ms = tot.op_latency_ms;
  return f;
}

PatchSearch best_patch_plan(const DeployedGraph& d, const RuntimeProfile& rt, const Board& board, bool inplace_add,
                            double max_overhead, int64_t layer_peak, int max_grid) {
  PatchSearch s;
  for (size_t t = 0; t < d.tensors.size(); ++t) {
    if (!patch_cut_problem(d, int(t)).empty()) continue;
    ++s.cuts_tried;
    const Shape& cs = d.tensors[t].shape;
    MemorySchedule rest;  // depends on the cut only
    bool have_rest = false;
    for (int r = 1; r <= std::min(max_grid, cs.h); ++r)
      for (int c = 1; c <= std::min(max_grid, cs.w); ++c) {
        if (r * c < 2) continue;
        ++s.plans_tried;
        PatchFigures f = patch_figures(d, patch_geometry(d, int(t), r, c), rt, board, inplace_add,
                                       have_rest ? &rest : nullptr);
        if (!have_rest) rest = f.rest, have_rest = true;
        if (f.peak_bytes >= layer_peak || f.mac_overhead() > max_overhead + 1e-12) continue;
        if (!s.found || f.peak_bytes < s.best.peak_bytes ||
            (f.peak_bytes == s.best.peak_bytes && f.macs < s.best.macs)) {
          s.best = std::move(f);
          s.found = true;
        }
      }
  }
  return s;
}

}  // namespace mcuprune
