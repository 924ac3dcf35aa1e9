// Greedy offset assignment for the activation arena (see plan.h).
#include "export/plan.h"

#include <algorithm>
#include <functional>
#include <random>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "resources/formulas.h"
#include "resources/memory.h"

namespace mcuprune {

namespace {

constexpr int kRandomPlacements = 20000;

}  // namespace


namespace {

// Gives plan.tensors their offsets: greedy first-fit placements under several priorities,
// then seeded random ones, until the arena reaches the predicted peak (which no placement
// can beat) or the tries run out; the smallest arena wins (ties: the first tried).
void place(MemoryPlan& plan) {
  std::vector<int64_t> size, offset, best;
  std::vector<int> first, last;
  for (const PlannedTensor& t : plan.tensors) size.push_back(t.bytes), first.push_back(t.first), last.push_back(t.last);
  auto try_order = [&](const std::vector<int>& priority, const std::string& name) {
    const int64_t arena = first_fit(size, first, last, priority, offset);
    if (best.empty() || arena < plan.arena_bytes) {
      best = offset;
      plan.arena_bytes = arena;
      plan.placement = name;
    }
    return plan.arena_bytes == plan.predicted_peak_bytes;  // cannot do better
  };
  using Less = std::function<bool(const PlannedTensor&, const PlannedTensor&)>;
  const std::vector<std::pair<std::string, Less>> rules = {
      {"largest first", [](const auto& a, const auto& b) { return a.bytes > b.bytes; }},
      {"earliest first", [](const auto& a, const auto& b) { return a.first < b.first; }},
      {"longest-lived first",
       [](const auto& a, const auto& b) { return a.last - a.first > b.last - b.first; }},
      {"largest area first",
       [](const auto& a, const auto& b) { return a.bytes * (a.last - a.first + 1) > b.bytes * (b.last - b.first + 1); }},
  };
  std::vector<int> priority(plan.tensors.size());
  bool done = false;
  for (const auto& rule : rules) {
    const Less& less = rule.second;
    const std::string& name = rule.first;
    for (size_t k = 0; k < priority.size(); ++k) priority[k] = int(k);
    std::stable_sort(priority.begin(), priority.end(),
                     [&](int a, int b) { return less(plan.tensors[size_t(a)], plan.tensors[size_t(b)]); });
    if ((done = try_order(priority, name))) break;
  }
  std::mt19937_64 rng(20240611);
  for (int k = 0; k < kRandomPlacements && !done; ++k) {
    std::shuffle(priority.begin(), priority.end(), rng);
    done = try_order(priority, "random order " + std::to_string(k + 1) + " of " + std::to_string(kRandomPlacements));
  }
  for (size_t k = 0; k < best.size(); ++k) plan.tensors[k].offset = best[k];
}

// Every tensor of d whole, live from its producer's step to its last consumer's under `pos`
// (steps by op); the model output to the last step.
std::vector<PlannedTensor> whole_tensors(const DeployedGraph& d, const std::vector<int>& pos, int steps) {
  std::vector<PlannedTensor> ts;
  for (size_t t = 0; t < d.tensors.size(); ++t) {
    const DeployedTensor& dt = d.tensors[t];
    PlannedTensor p;
    p.tensor = int(t);
    p.name = dt.name;
    p.bytes = dt.bytes();
    p.first = dt.producer < 0 ? 0 : pos[size_t(dt.producer)];
    p.last = p.first;
    for (int c : dt.consumers) p.last = std::max(p.last, pos[size_t(c)]);
    if (dt.is_model_output) p.last = steps - 1;
    ts.push_back(p);
  }
  return ts;
}

std::vector<int> positions(const DeployedGraph& d, const std::vector<int>& order) {
  std::vector<int> pos(d.ops.size(), -1);
  for (size_t s = 0; s < order.size(); ++s) pos[size_t(order[s])] = int(s);
  return pos;
}

// One buffer per op with kernel scratch, live at the op's step only.
void add_scratch(const DeployedGraph& d, const std::vector<int>& pos, const std::vector<int64_t>& scratch_bytes,
                 MemoryPlan& plan) {
  plan.op_scratch.assign(d.ops.size(), -1);
  for (size_t o = 0; o < scratch_bytes.size() && o < d.ops.size(); ++o)
    if (scratch_bytes[o] > 0) {
      PlannedTensor p;
      p.name = d.ops[o].name + " (kernel scratch)";
      p.bytes = scratch_bytes[o];
      p.first = p.last = pos[o];
      plan.op_scratch[o] = int(plan.tensors.size());
      plan.tensors.push_back(p);
    }
}

}  // namespace

MemoryPlan plan_memory(const DeployedGraph& d, const std::vector<int>& order,
                       const std::vector<int64_t>& scratch_bytes) {
  if (!is_topological_order(d, order)) throw std::invalid_argument("plan_memory: not an execution order of the graph");
  MemoryPlan plan;
  plan.order = order;
  plan.tensors = whole_tensors(d, positions(d, order), int(order.size()));
  std::vector<int64_t> bytes;
  for (const PlannedTensor& t : plan.tensors) bytes.push_back(t.bytes);
  std::vector<int64_t> scratch(d.ops.size(), 0);
  for (size_t o = 0; o < scratch_bytes.size() && o < scratch.size(); ++o) scratch[o] = scratch_bytes[o];
  plan.predicted_peak_bytes = order_memory<int64_t>(d, order, bytes, scratch, false).peak_bytes;
  add_scratch(d, positions(d, order), scratch, plan);
  place(plan);
  return plan;
}

MemoryPlan plan_memory_patched(const DeployedGraph& d, const PatchFigures& f,
                               const std::vector<int64_t>& scratch_bytes) {
  const PatchGeometry& g = f.geometry;
  const std::vector<int>& order = f.schedule.order;
  if (!is_topological_order(d, order) || order.size() < g.stage_ops.size() ||
      !std::equal(g.stage_ops.begin(), g.stage_ops.end(), order.begin()))
    throw std::invalid_argument("plan_memory_patched: the plan's order does not start with its stage");
  MemoryPlan plan;
  plan.order = order;
  plan.patched = true;
  plan.stage_steps = int(g.stage_ops.size());
  const std::vector<int> pos = positions(d, order);
  const int m = plan.stage_steps;
  plan.tensors = whole_tensors(d, pos, int(order.size()));
  const int in = d.input_tensor;
  // The input and the cut are whole for the whole stage; every other stage tensor is one
  // buffer sized for its largest window, live within a patch (resources/patch.h).
  plan.tensors[size_t(in)].last = std::max(plan.tensors[size_t(in)].last, m - 1);
  plan.tensors[size_t(g.cut)].first = 0;
  for (size_t t = 0; t < d.tensors.size(); ++t)
    if (g.in_stage[t] && int(t) != g.cut) {
      plan.tensors[t].bytes = int64_t(d.tensors[t].shape.c) * g.window_area[t];
      plan.tensors[t].name += " (patch window)";
    }
  if (g.copy_windows()) {  // a window of the input copied in, one of the cut computed and copied out
    auto window_buffer = [&](int t, int first, int last) {
      PlannedTensor p;
      p.name = d.tensors[size_t(t)].name + " (patch window copy)";
      p.bytes = int64_t(d.tensors[size_t(t)].shape.c) * g.window_area[size_t(t)];
      p.first = first, p.last = last;
      plan.tensors.push_back(p);
      return int(plan.tensors.size()) - 1;
    };
    int input_last = 0;
    for (int c : d.tensors[size_t(in)].consumers)
      if (pos[size_t(c)] < m) input_last = std::max(input_last, pos[size_t(c)]);
    plan.input_window = window_buffer(in, 0, input_last);
    plan.cut_window = window_buffer(g.cut, m - 1, m - 1);
  }
  add_scratch(d, pos, scratch_bytes, plan);
  plan.predicted_peak_bytes = f.peak_bytes;
  place(plan);
  return plan;
}

std::string memory_plan_table(const MemoryPlan& p) {
  std::ostringstream o;
  o << "tensor                            bytes     offset  first  last\n";
  for (const PlannedTensor& t : p.tensors) {
    std::string name = t.name.size() > 30 ? t.name.substr(0, 27) + "..." : t.name;
    o << name << std::string(30 - name.size(), ' ');
    char line[96];
    std::snprintf(line, sizeof line, "%9lld  %9lld  %5d  %4d\n", (long long)t.bytes, (long long)t.offset, t.first,
                  t.last);
    o << line;
  }
  o << "arena " << p.arena_bytes << " bytes (" << p.placement << "); the resource model's peak for this order: "
    << p.predicted_peak_bytes << " bytes"
    << (p.arena_bytes == p.predicted_peak_bytes ? " (equal)\n" : " (the plan is larger: fragmentation)\n");
  return o.str();
}

nlohmann::json memory_plan_json(const MemoryPlan& p) {
  nlohmann::json ts = nlohmann::json::array();
  for (const PlannedTensor& t : p.tensors)
    ts.push_back({{"name", t.name}, {"bytes", t.bytes}, {"offset", t.offset}, {"first_step", t.first},
                  {"last_step", t.last}});
  return {{"arena_bytes", p.arena_bytes}, {"predicted_peak_bytes", p.predicted_peak_bytes},
          {"placement", p.placement}, {"tensors", ts}};
}

}  // namespace mcuprune
