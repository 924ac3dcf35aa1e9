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

// first_fit over the plan's tensors; sets their offsets.
int64_t place(std::vector<PlannedTensor>& ts, const std::vector<int>& priority) {
  std::vector<int64_t> size, offset;
  std::vector<int> first, last;
  for (const PlannedTensor& t : ts) size.push_back(t.bytes), first.push_back(t.first), last.push_back(t.last);
  const int64_t arena = first_fit(size, first, last, priority, offset);
  for (size_t k = 0; k < ts.size(); ++k) ts[k].offset = offset[k];
  return arena;
}

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

  // Candidate priorities; the smallest arena wins (ties: the first listed).
  using Less = std::function<bool(const PlannedTensor&, const PlannedTensor&)>;
  const std::vector<std::pair<std::string, Less>> rules = {
      {"largest first", [](const auto& a, const auto& b) { return a.bytes > b.bytes; }},
      {"earliest first", [](const auto& a, const auto& b) { return a.first < b.first; }},
      {"longest-lived first",
       [](const auto& a, const auto& b) { return a.last - a.first > b.last - b.first; }},
      {"largest area first",
       [](const auto& a, const auto& b) { return a.bytes * (a.last - a.first + 1) > b.bytes * (b.last - b.first + 1); }},
  };
  std::vector<PlannedTensor> best;
  for (const auto& [name, less] : rules) {
    std::vector<PlannedTensor> ts = plan.tensors;
    std::vector<int> priority(ts.size());
    for (size_t k = 0; k < ts.size(); ++k) priority[k] = int(k);
    std::stable_sort(priority.begin(), priority.end(), [&](int a, int b) { return less(ts[size_t(a)], ts[size_t(b)]); });
    const int64_t arena = place(ts, priority);
    if (best.empty() || arena < plan.arena_bytes) {
      best = ts;
      plan.arena_bytes = arena;
      plan.placement = name;
    }
    if (arena == plan.predicted_peak_bytes) break;  // cannot do better
  }
  // Then random priorities (seeded: the plan is reproducible) until the peak is reached.
  std::mt19937_64 rng(20240611);
  const int tries = plan.arena_bytes == plan.predicted_peak_bytes ? 0 : kRandomPlacements;
  for (int k = 0; k < tries; ++k) {
    std::vector<PlannedTensor> ts = plan.tensors;
    std::vector<int> priority(ts.size());
    for (size_t j = 0; j < ts.size(); ++j) priority[j] = int(j);
    std::shuffle(priority.begin(), priority.end(), rng);
    const int64_t arena = place(ts, priority);
    if (arena < plan.arena_bytes) {
      best = ts;
      plan.arena_bytes = arena;
      plan.placement = "random order " + std::to_string(k + 1) + " of " + std::to_string(kRandomPlacements);
      if (arena == plan.predicted_peak_bytes) break;
    }
  }
  plan.tensors = best;
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
