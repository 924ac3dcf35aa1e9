// Builds a Profile from the exact (integer) instance of the resource formulas.
#include "resources/profile.h"

#include "resources/tflm.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "resources/formulas.h"

namespace mcuprune {

using nlohmann::json;

Budgets effective_budgets(const Board& board, const ProfileOptions& opt) {
  Budgets b = opt.budgets;
  if (opt.board_budgets && !b[Resource::Ram]) b[Resource::Ram] = double(board.ram_budget_bytes());
  if (opt.board_budgets && !b[Resource::Flash]) b[Resource::Flash] = double(board.flash_budget_bytes());
  return b;
}

ResourceUse Profile::use() const {
  ResourceUse u;
  u.ram_bytes = ram_bytes();
  u.flash_bytes = flash_bytes;
  u.macs = macs;
  u.latency_ms = latency_ms;
  u.params = params;
  u.bottleneck = deployed.ops[used.order[used.bottleneck_step]].name;
  return u;
}

bool Profile::fits() const {
  for (const auto& b : budgets)
    if (!b.fits) return false;
  return true;
}

std::string patch_spec(const DeployedGraph& d, const PatchGeometry& g) {
  return std::to_string(g.rows) + "x" + std::to_string(g.cols) + "@" + d.tensors[size_t(g.cut)].name;
}

std::string patch_deploy_note(const DeployedGraph& d, const PatchGeometry& g) {
  return "mcuprune's C runtime executes this plan: `export --format c` and `deploy` use it with --patch " +
         patch_spec(d, g) + " (their default, --patch auto, finds the same plan at the same --patch-max-overhead)";
}

Profile profile_graph(const Graph& g, const Board& board, const ProfileOptions& opt) {
  Profile p;
  auto graph = std::make_shared<Graph>(g);
  graph->infer_shapes();
  p.graph = graph;
  p.board = board;
  p.runtime = find_runtime(opt.runtime.empty() ? board.runtime : opt.runtime);
  const bool kernel_choice = p.runtime.kernel_scratch_buffers;
  if (opt.kernel_scratch == 0) p.runtime.kernel_scratch_buffers = false;
  p.deployed = deploy_view(*graph, DeployOptions{p.runtime.tflite_format && !opt.native_padding});
  p.options = opt;
  const DeployedGraph& d = p.deployed;
  std::vector<int64_t> ch = propagate_channels(d, exact_free_channels(d));
  GraphCosts<int64_t> costs = graph_costs(d, ch, p.runtime, board);
  std::vector<int64_t> scratch;
  for (const auto& c : costs.ops) scratch.push_back(c.scratch_bytes);
  p.op_scratch_bytes = scratch;
  p.given = schedule_given(d, costs.tensor_bytes, scratch, opt.inplace_add);
  auto t0 = std::chrono::steady_clock::now();
  p.optimal = schedule_optimal(d, costs.tensor_bytes, scratch, opt.inplace_add);
  p.optimal_search_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  p.used = opt.optimal_order ? p.optimal : p.given;
  p.params = costs.params;
  p.flash_bytes = costs.flash_bytes;
  p.macs = costs.macs;
  p.element_ops = costs.element_ops;
  p.persistent_ram_bytes = costs.persistent_ram_bytes;
  p.latency_ms = costs.latency_ms;
  const PatchSpec spec = parse_patch_spec(opt.patch);
  if (spec.kind != PatchSpec::None && !p.runtime.patch_execution) {
    p.patch_note = "runtime '" + p.runtime.name + "' executes layer by layer (it has no patch stages): --patch " +
                   opt.patch + " not used (--runtime mcuprune runs them)";
  } else if (spec.kind == PatchSpec::Fixed) {
    const int cut = find_cut_tensor(d, spec.tensor);
    p.patch = patch_figures(d, patch_geometry(d, cut, spec.rows, spec.cols), p.runtime, board, opt.inplace_add);
  } else if (spec.kind == PatchSpec::Auto) {
    if (!(opt.patch_max_overhead >= 0)) throw UserError("--patch-max-overhead must be a number >= 0");
    PatchSearch ps = best_patch_plan(d, p.runtime, board, opt.inplace_add, opt.patch_max_overhead, p.used.peak_bytes);
    p.patch_cuts_tried = ps.cuts_tried;
    p.patch_plans_tried = ps.plans_tried;
    if (ps.found) {
      p.patch = std::move(ps.best);
    } else {
      char why[256];
      std::snprintf(why, sizeof why,
                    "--patch auto: none of %d plans over %d stage cuts lowers the peak below layer by layer's %lld B "
                    "within +%.0f%% MACs; the model runs layer by layer",
                    ps.plans_tried, ps.cuts_tried, (long long)p.used.peak_bytes, 100 * opt.patch_max_overhead);
      p.patch_note = why;
    }
  }
  if (p.patch) {
    p.used = p.patch->schedule;
    p.macs = p.patch->macs;
    p.element_ops = p.patch->element_ops;
    p.latency_ms = p.patch->latency_ms;
    p.flash_bytes += p.patch->table_bytes;
  }
  if (p.runtime.tflm_arena) {
    const TflmArena ta = tflm_arena(d, p.used.order, scratch, p.runtime.im2col_scratch, /*pointer_bytes=*/4);
    p.tflm_head_bytes = ta.head_bytes;
    p.persistent_ram_bytes = ta.tail_bytes;
    p.tflm_tail_items = ta.tail_items;
  }

  // Live tensors per step of the used order.
  const size_t m = d.ops.size();
  std::vector<int> pos(m);
  for (size_t s = 0; s < m; ++s) pos[p.used.order[s]] = int(s);
  for (size_t s = 0; s < m; ++s) {
    int o = p.used.order[s];
    const DeployedOp& op = d.ops[o];
    const OpCosts<int64_t>& c = costs.ops[o];
    OpRow r;
    r.op = o;
    r.name = op.name;
    r.kind = deployed_kind_name(op.kind);
    r.out = d.tensors[op.output].shape;
    for (int f : op.fused) r.fused.push_back(graph->nodes[f].name);
    r.params = c.params;
    r.flash_bytes = c.weight_bytes;
    r.macs = c.macs;
    r.element_ops = c.element_ops;
    r.scratch_bytes = c.scratch_bytes;
    r.latency_ms = costs.op_latency_ms[o];
    r.outputs = c.outputs, r.columns = c.columns, r.pixels = c.pixels, r.scratch_kernel = c.scratch_kernel;
    r.edge_outputs = c.edge_outputs, r.channels = c.channels, r.kernel_macs = c.kernel_macs;
    const bool patched = p.patch && p.patch->geometry.op_area[size_t(o)] > 0;
    if (patched) {
      const OpCosts<int64_t> pc = patched_op_costs(d, p.patch->geometry, o, c);
      r.patched = true;
      r.macs = pc.macs;
      r.element_ops = pc.element_ops;
      r.latency_ms = p.patch->op_latency_ms[size_t(o)];
      r.outputs = pc.outputs, r.columns = pc.columns, r.pixels = pc.pixels, r.edge_outputs = pc.edge_outputs;
      r.channels = pc.channels, r.kernel_macs = pc.kernel_macs;
      r.calls = p.patch->geometry.patches();
    }
    if (p.runtime.has_instruction_model)
      r.instructions = r.latency_ms * 1e3 * board.clock_mhz / board.latency.cycles_per_instruction;
    r.live_bytes = p.used.step_bytes[s];
    r.bottleneck = int(s) == p.used.bottleneck_step;
    auto last_step = [&](size_t t) {
      const DeployedTensor& tt = d.tensors[t];
      int last = tt.producer < 0 ? 0 : pos[tt.producer];
      for (int cns : tt.consumers) last = std::max(last, pos[cns]);
      return tt.is_model_output ? int(m) - 1 : last;
    };
    // With in-place ADD the output shares a dying input's buffer: not listed twice.
    bool reuse = false;
    if (opt.inplace_add && op.kind == DeployedKind::Add)
      for (int in : op.inputs)
        reuse = reuse || (last_step(size_t(in)) == int(s) && !d.tensors[in].is_model_output);
    auto live = [&](int t, int64_t bytes, bool window) {
      r.live_tensors.push_back(t);
      r.live_bytes_of.push_back(bytes);
      r.live_window.push_back(window);
    };
    if (patched) {  // one patch's buffers (the rule of patch_stage_steps), the input and the cut whole
      const PatchGeometry& g = p.patch->geometry;
      const int in = d.input_tensor;
      live(in, costs.tensor_bytes[size_t(in)], false);
      for (size_t t = 0; t < d.tensors.size(); ++t) {
        const bool copy = (int(t) == in || int(t) == g.cut) && g.copy_windows();
        if (!(g.in_stage[t] && int(t) != g.cut) && !copy) continue;
        const DeployedTensor& tt = d.tensors[t];
        int first = tt.producer < 0 ? 0 : pos[tt.producer], last = first;
        for (int cns : tt.consumers)
          if (g.op_area[size_t(cns)] > 0) last = std::max(last, pos[cns]);
        if (int(t) == g.cut && copy) last = int(g.stage_ops.size()) - 1;
        if (first <= int(s) && int(s) <= last) live(int(t), ch[t] * g.window_area[t], true);
      }
      live(g.cut, costs.tensor_bytes[size_t(g.cut)], false);
    } else {
      for (size_t t = 0; t < d.tensors.size(); ++t) {
        const DeployedTensor& tt = d.tensors[t];
        int first = tt.producer < 0 ? 0 : pos[tt.producer];
        if (reuse && int(t) == op.output) continue;
        if (first <= int(s) && int(s) <= last_step(t)) live(int(t), costs.tensor_bytes[t], false);
      }
    }
    p.rows.push_back(r);
  }

  if (p.runtime.has_instruction_model)
    p.instructions = p.latency_ms * 1e3 * board.clock_mhz / board.latency.cycles_per_instruction;
  p.budgets = check_budgets(p.use(), effective_budgets(board, opt), opt.budgets);
  if (kernel_choice) {
    int64_t scratch_ops = 0, largest = 0;
    for (int64_t b : p.op_scratch_bytes) scratch_ops += b > 0, largest = std::max(largest, b);
    const std::optional<double> ram = effective_budgets(board, opt)[Resource::Ram];
    if (opt.kernel_scratch == -1 && scratch_ops > 0 && ram && double(p.ram_bytes()) > *ram) {
      // The scratch breaks the RAM budget: the scratch-free kernels, if they need less.
      ProfileOptions without = opt;
      without.kernel_scratch = 0;
      Profile q = profile_graph(g, board, without);
      if (q.ram_bytes() < p.ram_bytes()) {
        q.kernel_note = "kernels: scratch-free (conv and dense four output channels at a time): the faster "
                        "kernels' scratch would raise RAM from " + format_bytes(q.ram_bytes()) + " to " +
                        format_bytes(p.ram_bytes()) + ", beyond the RAM budget of " + format_bytes(int64_t(*ram));
        return q;
      }
    }
    p.kernel_note = !p.runtime.kernel_scratch_buffers
                        ? "kernels: scratch-free (conv and dense four output channels at a time), as asked"
                    : scratch_ops == 0 ? "kernels: no op takes scratch"
                                       : "kernels: " + std::to_string(scratch_ops) +
                                             " op(s) with scratch planned in the arena while each runs (largest " +
                                             format_bytes(largest) + "; conv: im2col, two output pixels by two "
                                             "output channels; dense: the input as int16)";
  }
  return p;
}

json profile_to_json(const Profile& p) {
  const DeployedGraph& d = p.deployed;
  json ops = json::array();
  for (const OpRow& r : p.rows) {
    json live = json::array();
    for (size_t k = 0; k < r.live_tensors.size(); ++k)
      live.push_back(d.tensors[r.live_tensors[k]].name + (r.live_window[k] ? " (patch window)" : ""));
    ops.push_back({{"name", r.name},
                   {"op", r.kind},
                   {"fused", r.fused},
                   {"output_shape", {r.out.h, r.out.w, r.out.c}},
                   {"params", r.params},
                   {"flash_bytes", r.flash_bytes},
                   {"macs", r.macs},
                   {"element_ops", r.element_ops},
                   {"scratch_bytes", r.scratch_bytes},
                   {"latency_ms", r.latency_ms},
                   {"instructions", r.instructions},
                   {"model_figures", {{"outputs", r.outputs}, {"columns", r.columns}, {"pixels", r.pixels},
                                      {"calls", r.calls}, {"scratch_kernel", r.scratch_kernel},
                                      {"edge_outputs", r.edge_outputs}, {"channels", r.channels},
                                      {"kernel_macs", r.kernel_macs}}},
                   {"live_bytes", r.live_bytes},
                   {"live_tensors", live},
                   {"live_tensor_bytes", r.live_bytes_of},
                   {"patched", r.patched},
                   {"bottleneck", r.bottleneck}});
  }
  json patch = nullptr;
  if (p.patch) {
    const PatchFigures& f = *p.patch;
    const PatchGeometry& g = f.geometry;
    json stage = json::array();
    for (int o : g.stage_ops) stage.push_back(d.ops[size_t(o)].name);
    patch = {{"cut", d.tensors[size_t(g.cut)].name},
             {"rows", g.rows},
             {"cols", g.cols},
             {"stage", stage},
             {"stage_peak_bytes", f.stage_peak},
             {"rest_peak_bytes", f.rest_peak},
             {"peak_bytes", f.peak_bytes},
             {"layer_by_layer_peak_bytes", p.optimal.peak_bytes},
             {"macs", f.macs},
             {"layer_by_layer_macs", f.layer_macs},
             {"mac_overhead", f.mac_overhead()},
             {"table_bytes", f.table_bytes},
             {"window_copies", g.copy_windows()}};
  }
  auto order_names = [&](const MemorySchedule& s) {
    json o = json::array();
    for (int k : s.order) o.push_back(d.ops[k].name);
    return o;
  };
  json budgets = json::array();
  for (const auto& b : p.budgets) budgets.push_back(budget_check_to_json(b));
  const Shape& in = p.graph->input_shape();
  return {{"format", "mcuprune-profile"},
          {"version", 1},
          {"model", {{"name", p.graph->name}, {"input", {in.h, in.w, in.c}},
                     {"classes", p.graph->output_shape().c}}},
          {"board", board_to_json(p.board)},
          {"runtime", p.runtime.name},
          {"order", p.options.optimal_order ? "optimal" : "given"},
          {"inplace_add", p.options.inplace_add},
          {"operators", ops},
          {"totals",
           {{"params", p.params},
            {"flash_bytes", p.flash_bytes},
            {"macs", p.macs},
            {"element_ops", p.element_ops},
            {"latency_ms", p.latency_ms},
            {"instructions", p.instructions},
            {"peak_sram_bytes", p.used.peak_bytes},
            {"persistent_ram_bytes", p.persistent_ram_bytes},
            {"tflm_head_bytes", p.tflm_head_bytes},
            {"ram_bytes", p.ram_bytes()},
            {"peak_sram_given_order_bytes", p.given.peak_bytes},
            {"peak_sram_optimal_order_bytes", p.optimal.peak_bytes},
            {"bottleneck_operator", d.ops[p.used.order[p.used.bottleneck_step]].name}}},
          {"execution_order", order_names(p.used)},
          {"optimal_order", order_names(p.optimal)},
          {"optimal_search_states", p.optimal.states_explored},
          {"optimal_search_complete", p.optimal.search_complete},
          {"optimal_search_ms", p.optimal_search_ms},
          {"patch_request", p.options.patch},
          {"patch", patch},
          {"patch_note", p.patch_note},
          {"kernel_note", p.kernel_note},
          {"budgets", budgets},
          {"fits", p.fits()}};
}

std::string profile_table(const Profile& p) {
  std::ostringstream s;
  char line[512];
  std::snprintf(line, sizeof line, "%s (%s) on %s (%s, %.0f MHz), runtime %s, %s order%s\n\n",
                p.graph->name.c_str(), p.graph->input_shape().str().c_str(), p.board.name.c_str(),
                p.board.core.c_str(), p.board.clock_mhz, p.runtime.name.c_str(),
                p.options.optimal_order ? "optimal" : "given",
                p.options.inplace_add ? ", in-place add" : "");
  s << line;
  std::snprintf(line, sizeof line, "%-3s %-20s %-17s %-10s %9s %10s %11s %9s %10s\n", "#", "operator",
                "kind", "output", "params", "flash B", "MACs", "lat ms", "live B");
  s << line;
  int k = 0;
  for (const OpRow& r : p.rows) {
    std::snprintf(line, sizeof line, "%-3d %-20.20s %-17s %-10s %9lld %10lld %11lld %9.3f %10lld%s\n",
                  ++k, r.name.c_str(), r.kind.c_str(), r.out.str().c_str(), (long long)r.params,
                  (long long)r.flash_bytes, (long long)r.macs, r.latency_ms,
                  (long long)r.live_bytes, r.bottleneck ? "  <- peak" : r.patched ? "  (patch stage)" : "");
    s << line;
  }
  std::snprintf(line, sizeof line, "%-3s %-20s %-17s %-10s %9lld %10lld %11lld %9.3f %10lld\n", "",
                "total", "", "", (long long)p.params, (long long)p.flash_bytes, (long long)p.macs,
                p.latency_ms, (long long)p.used.peak_bytes);
  s << line;
  std::snprintf(line, sizeof line,
                "\nflash %s (weights, biases, quantisation parameters, %s overheads); "
                "%lld MACs + %lld element ops; latency %.2f ms\n",
                format_bytes(p.flash_bytes).c_str(), p.runtime.name.c_str(), (long long)p.macs,
                (long long)p.element_ops, p.latency_ms);
  s << line;
  std::snprintf(line, sizeof line,
                "peak SRAM %s at '%s' (given order %s, optimal order %s); RAM %s with %s "
                "of runtime data\n",
                format_bytes(p.used.peak_bytes).c_str(),
                p.deployed.ops[p.used.order[p.used.bottleneck_step]].name.c_str(),
                format_bytes(p.given.peak_bytes).c_str(), format_bytes(p.optimal.peak_bytes).c_str(),
                format_bytes(p.ram_bytes()).c_str(), format_bytes(p.persistent_ram_bytes).c_str());
  s << line;
  if (p.patch) {
    const PatchFigures& f = *p.patch;
    const PatchGeometry& g = f.geometry;
    std::snprintf(line, sizeof line,
                  "patch stage: %zu operators up to '%s', %dx%d patches%s: stage peak %s (one patch's buffers, the "
                  "input and '%s' whole), rest %s; layer by layer %s (%.2fx lower); MACs %+.1f%%; plan tables %s\n",
                  g.stage_ops.size(), p.deployed.tensors[size_t(g.cut)].name.c_str(), g.rows, g.cols,
                  g.copy_windows() ? " (windows copied in and out)" : " (row strips, in place)",
                  format_bytes(f.stage_peak).c_str(), p.deployed.tensors[size_t(g.cut)].name.c_str(),
                  format_bytes(f.rest_peak).c_str(), format_bytes(p.optimal.peak_bytes).c_str(),
                  double(p.optimal.peak_bytes) / double(std::max<int64_t>(1, f.peak_bytes)), 100 * f.mac_overhead(),
                  format_bytes(f.table_bytes).c_str());
    s << line;
    if (p.patch_plans_tried > 0) {
      std::snprintf(line, sizeof line, "  (--patch auto: the lowest peak of %d plans over %d stage cuts within +%.0f%% MACs)\n",
                    p.patch_plans_tried, p.patch_cuts_tried, 100 * p.options.patch_max_overhead);
      s << line;
    }
  }
  if (!p.patch_note.empty()) s << "note: " << p.patch_note << "\n";
  if (!p.kernel_note.empty()) s << "note: " << p.kernel_note << "\n";
  if (p.patch) s << "note: " << patch_deploy_note(p.deployed, p.patch->geometry) << "\n";
  if (!p.optimal.search_complete) {
    std::snprintf(line, sizeof line,
                  "note: the optimal-order search stopped at its bound of %lld states (a wide graph); the "
                  "\"optimal\" order is the best of the graph's and a greedy order, not proven optimal\n",
                  (long long)p.optimal.states_explored);
    s << line;
  }
  if (p.runtime.tflm_arena) {
    std::snprintf(line, sizeof line, "TFLite Micro arena (simulated): planner head %s, persistent tail %s\n",
                  format_bytes(p.tflm_head_bytes).c_str(), format_bytes(p.persistent_ram_bytes).c_str());
    s << line;
    for (const auto& [what, bytes] : p.tflm_tail_items) {
      std::snprintf(line, sizeof line, "  %8lld B  %s\n", (long long)bytes, what.c_str());
      s << line;
    }
  }
  s << "\nbudgets:\n";
  for (const auto& b : p.budgets) {
    const bool bytes = b.resource == Resource::Ram || b.resource == Resource::Flash;
    if (bytes)
      std::snprintf(line, sizeof line, "  %-8s %12s of %12s (%s)  %s by %s\n", resource_name(b.resource),
                    format_bytes(int64_t(b.used)).c_str(), format_bytes(int64_t(b.budget)).c_str(),
                    b.source.c_str(), b.fits ? "fits" : "OVER",
                    format_bytes(int64_t(std::fabs(b.margin))).c_str());
    else
      std::snprintf(line, sizeof line, "  %-8s %12.6g of %12.6g %s (%s)  %s by %.6g\n",
                    resource_name(b.resource), b.used, b.budget, resource_unit(b.resource), b.source.c_str(),
                    b.fits ? "fits" : "OVER", std::fabs(b.margin));
    s << line;
  }
  s << (p.fits() ? "the model fits\n" : "the model does NOT fit\n");
  return s.str();
}

std::string memory_timeline(const Profile& p, int width) {
  // One line per step: a bar of the step's memory split into its live tensors (each drawn
  // with its own letter), then the names. The bottleneck step is marked.
  const DeployedGraph& d = p.deployed;
  std::ostringstream s;
  const double peak = double(std::max<int64_t>(1, p.used.peak_bytes));
  s << "memory timeline (each letter is one live tensor" << (p.patch ? ", upper case: one patch's window of it" : "")
    << "; scale: " << width << " columns = "
    << format_bytes(p.used.peak_bytes) << ")\n";
  char line[256];
  int k = 0;
  for (const OpRow& r : p.rows) {
    std::string bar, names;
    for (size_t k = 0; k < r.live_tensors.size(); ++k) {
      const int t = r.live_tensors[k];
      const bool window = r.live_window[k];  // a patch window: its letter in upper case
      char letter = char((window ? 'A' : 'a') + t % 26);
      int cols = int(std::lround(width * double(r.live_bytes_of[k]) / peak));
      bar += std::string(size_t(std::max(cols, 1)), letter);
      names += std::string(names.empty() ? "" : " ") + letter + "=" + d.tensors[t].name + (window ? " (window)" : "");
    }
    if (r.scratch_bytes > 0) {
      int cols = int(std::lround(width * double(r.scratch_bytes) / peak));
      bar += std::string(size_t(std::max(cols, 1)), '#');
      names += " #=scratch";
    }
    std::snprintf(line, sizeof line, "%3d %-18.18s %10lld |", ++k, r.name.c_str(),
                  (long long)r.live_bytes);
    s << line << bar << std::string(size_t(std::max(0, width - int(bar.size()))), ' ') << "| "
      << names << (r.bottleneck ? "  <- peak" : "") << "\n";
  }
  return s.str();
}

}  // namespace mcuprune
