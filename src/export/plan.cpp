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

MemoryPlan plan_memory(const DeployedGraph& d, const std::vector<int>& order) {
  if (!is_topological_order(d, order)) throw std::invalid_argument("plan_memory: not an execution order of the graph");
  MemoryPlan plan;
  plan.order = order;
  const int m = int(order.size());
  std::vector<int> pos(d.ops.size(), -1);
  for (int s = 0; s < m; ++s) pos[size_t(order[size_t(s)])] = s;
  std::vector<int64_t> bytes;
  for (size_t t = 0; t < d.tensors.size(); ++t) {
    const DeployedTensor& dt = d.tensors[t];
    PlannedTensor p;
    p.tensor = int(t);
    p.name = dt.name;
    p.bytes = dt.bytes();
    p.first = dt.producer < 0 ? 0 : pos[size_t(dt.producer)];
    p.last = p.first;
    for (int c : dt.consumers) p.last = std::max(p.last, pos[size_t(c)]);
    if (dt.is_model_output) p.last = m - 1;
    plan.tensors.push_back(p);
    bytes.push_back(p.bytes);
  }
  plan.predicted_peak_bytes =
      order_memory<int64_t>(d, order, bytes, std::vector<int64_t>(d.ops.size(), 0), false).peak_bytes;

  // Candidate priorities; the smallest arena wins (ties: the first tried). The sizes and
  // lifetimes are gathered once; each try only computes offsets.
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
  // Then random priorities (seeded: the plan is reproducible) until the peak is reached.
  std::mt19937_64 rng(20240611);
  for (int k = 0; k < kRandomPlacements && !done; ++k) {
    std::shuffle(priority.begin(), priority.end(), rng);
    done = try_order(priority, "random order " + std::to_string(k + 1) + " of " + std::to_string(kRandomPlacements));
  }
  for (size_t k = 0; k < best.size(); ++k) plan.tensors[k].offset = best[k];
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
