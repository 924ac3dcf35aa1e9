// Schedules: given order, memoised optimal order search, brute force.
#include "resources/memory.h"

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "resources/formulas.h"

namespace mcuprune {

namespace {

MemorySchedule finish(const DeployedGraph& d, std::vector<int> order,
                      const std::vector<int64_t>& tensor_bytes,
                      const std::vector<int64_t>& scratch_bytes, bool inplace_add) {
  MemorySchedule s;
  OrderMemory<int64_t> m = order_memory(d, order, tensor_bytes, scratch_bytes, inplace_add);
  s.order = std::move(order);
  s.step_bytes = m.step_bytes;
  s.peak_bytes = m.peak_bytes;
  for (size_t i = 0; i < s.step_bytes.size(); ++i)
    if (s.step_bytes[i] == s.peak_bytes) {
      s.bottleneck_step = int(i);
      break;
    }
  return s;
}

// Predecessor ops of each op (producers of its inputs).
std::vector<std::vector<int>> op_predecessors(const DeployedGraph& d) {
  std::vector<std::vector<int>> p(d.ops.size());
  for (size_t o = 0; o < d.ops.size(); ++o)
    for (int t : d.ops[o].inputs)
      if (d.tensors[t].producer >= 0) p[o].push_back(d.tensors[t].producer);
  return p;
}

}  // namespace

bool is_topological_order(const DeployedGraph& d, const std::vector<int>& order) {
  if (order.size() != d.ops.size()) return false;
  std::vector<int> pos(d.ops.size(), -1);
  for (size_t s = 0; s < order.size(); ++s) {
    if (order[s] < 0 || order[s] >= int(d.ops.size()) || pos[order[s]] >= 0) return false;
    pos[order[s]] = int(s);
  }
  auto preds = op_predecessors(d);
  for (size_t o = 0; o < d.ops.size(); ++o)
    for (int p : preds[o])
      if (pos[p] > pos[o]) return false;
  return true;
}

MemorySchedule schedule_given(const DeployedGraph& d, const std::vector<int64_t>& tensor_bytes,
                              const std::vector<int64_t>& scratch_bytes, bool inplace_add) {
  std::vector<int> order(d.ops.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = int(i);
  return finish(d, order, tensor_bytes, scratch_bytes, inplace_add);
}

MemorySchedule schedule_optimal(const DeployedGraph& d, const std::vector<int64_t>& tensor_bytes,
                                const std::vector<int64_t>& scratch_bytes, bool inplace_add) {
  const int m = int(d.ops.size());
  const int words = (m + 63) / 64;
  auto preds = op_predecessors(d);
  using Set = std::vector<uint64_t>;
  auto has = [](const Set& s, int o) { return (s[size_t(o) / 64] >> (o % 64)) & 1u; };
  auto key_of = [](const Set& s) {
    return std::string(reinterpret_cast<const char*>(s.data()), s.size() * sizeof(uint64_t));
  };
  // Bytes live between steps once the ops in S have run.
  auto live_bytes = [&](const Set& s) {
    int64_t b = 0;
    for (size_t t = 0; t < d.tensors.size(); ++t) {
      const DeployedTensor& tt = d.tensors[t];
      if (tt.producer >= 0 && !has(s, tt.producer)) continue;
      bool needed = tt.is_model_output;
      for (int c : tt.consumers) needed = needed || !has(s, c);
      if (needed) b += tensor_bytes[t];
    }
    return b;
  };
  struct Entry {
    int64_t best;
    int choice;
  };
  std::unordered_map<std::string, Entry> memo;
  std::function<int64_t(Set&, int)> solve = [&](Set& s, int done) -> int64_t {
    if (done == m) return 0;
    std::string key = key_of(s);
    auto it = memo.find(key);
    if (it != memo.end()) return it->second.best;
    const int64_t live = live_bytes(s);
    Entry e{INT64_MAX, -1};
    for (int o = 0; o < m; ++o) {
      if (has(s, o)) continue;
      bool ready = true;
      for (int p : preds[o]) ready = ready && has(s, p);
      if (!ready) continue;
      const DeployedOp& op = d.ops[o];
      bool reuse = false;
      if (inplace_add && op.kind == DeployedKind::Add)
        for (int in : op.inputs) {
          const DeployedTensor& tt = d.tensors[in];
          bool last_use = !tt.is_model_output;
          for (int c : tt.consumers) last_use = last_use && (c == o || has(s, c));
          reuse = reuse || last_use;
        }
      int64_t step = live + (reuse ? 0 : tensor_bytes[op.output]) + scratch_bytes[o];
      if (step >= e.best) continue;  // cannot beat the best found
      s[size_t(o) / 64] |= uint64_t(1) << (o % 64);
      int64_t rest = solve(s, done + 1);
      s[size_t(o) / 64] &= ~(uint64_t(1) << (o % 64));
      int64_t peak = std::max(step, rest);
      if (peak < e.best) e = {peak, o};
    }
    memo[key] = e;
    return e.best;
  };
  Set s(size_t(words), 0);
  solve(s, 0);
  std::vector<int> order;
  for (int k = 0; k < m; ++k) {
    int o = memo.at(key_of(s)).choice;
    order.push_back(o);
    s[size_t(o) / 64] |= uint64_t(1) << (o % 64);
  }
  MemorySchedule r = finish(d, order, tensor_bytes, scratch_bytes, inplace_add);
  r.states_explored = int64_t(memo.size());
  return r;
}

MemorySchedule schedule_brute_force(const DeployedGraph& d, const std::vector<int64_t>& tensor_bytes,
                                    const std::vector<int64_t>& scratch_bytes, bool inplace_add,
                                    int64_t max_orders) {
  const int m = int(d.ops.size());
  auto preds = op_predecessors(d);
  std::vector<int> order;
  std::vector<bool> used(size_t(m), false);
  MemorySchedule best;
  best.peak_bytes = INT64_MAX;
  int64_t count = 0;
  std::function<void()> rec = [&] {
    if (int(order.size()) == m) {
      if (++count > max_orders) throw std::runtime_error("too many topological orders");
      MemorySchedule s = finish(d, order, tensor_bytes, scratch_bytes, inplace_add);
      if (s.peak_bytes < best.peak_bytes) best = s;
      return;
    }
    for (int o = 0; o < m; ++o) {
      if (used[size_t(o)]) continue;
      bool ready = true;
      for (int p : preds[o]) ready = ready && used[size_t(p)];
      if (!ready) continue;
      used[size_t(o)] = true;
      order.push_back(o);
      rec();
      order.pop_back();
      used[size_t(o)] = false;
    }
  };
  rec();
  best.states_explored = count;
  return best;
}

int64_t first_fit(const std::vector<int64_t>& size, const std::vector<int>& first, const std::vector<int>& last,
                  const std::vector<int>& priority, std::vector<int64_t>& offset) {
  offset.assign(size.size(), -1);
  std::vector<int> placed;
  std::vector<std::pair<int64_t, int64_t>> busy;  // [offset, end) of live neighbours
  int64_t arena = 0;
  for (int k : priority) {
    busy.clear();
    for (int p : placed)
      if (first[size_t(p)] <= last[size_t(k)] && first[size_t(k)] <= last[size_t(p)])
        busy.push_back({offset[size_t(p)], offset[size_t(p)] + size[size_t(p)]});
    std::sort(busy.begin(), busy.end());
    int64_t off = 0;
    for (const auto& [b, e] : busy) {
      if (b >= off + size[size_t(k)]) break;  // the gap before this block fits
      off = std::max(off, e);
    }
    offset[size_t(k)] = off;
    arena = std::max(arena, off + size[size_t(k)]);
    placed.push_back(k);
  }
  return arena;
}

}  // namespace mcuprune
