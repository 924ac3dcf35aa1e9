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

// For each PAD op (deployed.h), the op that reads its padded tensor, which must run right
// after it (the TFLite exporter writes the two together); -1 for other ops.
std::vector<int> pad_reader(const DeployedGraph& d) {
  std::vector<int> r(d.ops.size(), -1);
  for (size_t o = 0; o < d.ops.size(); ++o)
    if (is_pad_op(d, int(o))) r[o] = d.tensors[size_t(d.ops[o].output)].consumers.at(0);
  return r;
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

// The best of two cheap orders (the graph's own, and greedy: the ready op that needs the least
// memory now), for when the exact search is stopped.
MemorySchedule schedule_heuristic(const DeployedGraph& d, const std::vector<int64_t>& tensor_bytes,
                                  const std::vector<int64_t>& scratch_bytes, bool inplace_add) {
  MemorySchedule best = schedule_given(d, tensor_bytes, scratch_bytes, inplace_add);
  const int m = int(d.ops.size());
  auto preds = op_predecessors(d);
  std::vector<int> waiting(static_cast<size_t>(m)), order;
  std::vector<std::vector<int>> succ(static_cast<size_t>(m));
  for (int o = 0; o < m; ++o) {
    waiting[size_t(o)] = int(preds[size_t(o)].size());
    for (int p : preds[size_t(o)]) succ[size_t(p)].push_back(o);
  }
  const std::vector<int> after_pad = pad_reader(d);
  std::vector<int> ready;
  for (int o = 0; o < m; ++o)
    if (!waiting[size_t(o)]) ready.push_back(o);
  int must = -1;  // the reader of the PAD just run
  while (!ready.empty()) {
    size_t pick = 0;
    if (must >= 0) pick = size_t(std::find(ready.begin(), ready.end(), must) - ready.begin());
    else for (size_t k = 1; k < ready.size(); ++k) {
      const int a = ready[k], b = ready[pick];
      const int64_t ca = tensor_bytes[size_t(d.ops[size_t(a)].output)] + scratch_bytes[size_t(a)];
      const int64_t cb = tensor_bytes[size_t(d.ops[size_t(b)].output)] + scratch_bytes[size_t(b)];
      if (ca < cb || (ca == cb && a < b)) pick = k;
    }
    const int o = ready.at(pick);
    ready.erase(ready.begin() + long(pick));
    order.push_back(o);
    must = after_pad[size_t(o)];
    for (int c : succ[size_t(o)])
      if (--waiting[size_t(c)] == 0) ready.push_back(c);
  }
  if (int(order.size()) == m) {
    MemorySchedule g = finish(d, order, tensor_bytes, scratch_bytes, inplace_add);
    if (g.peak_bytes < best.peak_bytes) best = std::move(g);
  }
  return best;
}

MemorySchedule schedule_optimal(const DeployedGraph& d, const std::vector<int64_t>& tensor_bytes,
                                const std::vector<int64_t>& scratch_bytes, bool inplace_add, int64_t max_states) {
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
  // Memory while op o runs after the ops in S (its output, unless an in-place add reuses an input).
  auto step_bytes = [&](const Set& s, int o, int64_t live) {
    const DeployedOp& op = d.ops[size_t(o)];
    bool reuse = false;
    if (inplace_add && op.kind == DeployedKind::Add)
      for (int in : op.inputs) {
        const DeployedTensor& tt = d.tensors[size_t(in)];
        bool last_use = !tt.is_model_output;
        for (int c : tt.consumers) last_use = last_use && (c == o || has(s, c));
        reuse = reuse || last_use;
      }
    return live + (reuse ? 0 : tensor_bytes[size_t(op.output)]) + scratch_bytes[size_t(o)];
  };
  const std::vector<int> after_pad = pad_reader(d);
  std::vector<int> pads;
  for (int o = 0; o < m; ++o)
    if (after_pad[size_t(o)] >= 0) pads.push_back(o);
  auto ready = [&](const Set& s, int o) {
    if (has(s, o)) return false;
    for (int p : preds[size_t(o)])
      if (!has(s, p)) return false;
    for (int p : pads)  // a PAD that has run is followed by its reader, and nothing else
      if (has(s, p) && !has(s, after_pad[size_t(p)])) return o == after_pad[size_t(p)];
    return true;
  };
  struct Entry {
    int64_t best;
    int choice;
  };
  std::unordered_map<std::string, Entry> memo;
  // The memoised recursion f(S) = min over ready o of max(step(S, o), f(S + o)), run with an
  // explicit stack (graphs may be deep): each frame scans its ready ops in index order.
  struct Frame {
    std::string key;
    int64_t live;
    Entry e;
    int next;          // the next op to consider
    int child = -1;    // the op whose subproblem is being solved
    int64_t child_step = 0;
  };
  Set s(size_t(words), 0);
  int done = 0;
  bool stopped = false;
  std::vector<Frame> stack;
  auto push = [&]() { stack.push_back(Frame{key_of(s), live_bytes(s), Entry{INT64_MAX, -1}, 0}); };
  int64_t returned = -1;  // the value of the subproblem just solved (or -1)
  if (m > 0) push();
  while (!stack.empty()) {
    Frame& f = stack.back();
    if (f.child >= 0) {  // the child's value is in `returned`
      const int64_t peak = std::max(f.child_step, returned);
      if (peak < f.e.best) f.e = {peak, f.child};
      s[size_t(f.child) / 64] &= ~(uint64_t(1) << (f.child % 64));
      --done;
      f.child = -1;
      returned = -1;
    }
    bool descended = false;
    while (f.next < m) {
      const int o = f.next++;
      if (!ready(s, o)) continue;
      const int64_t step = step_bytes(s, o, f.live);
      if (step >= f.e.best) continue;  // cannot beat the best found
      s[size_t(o) / 64] |= uint64_t(1) << (o % 64);
      ++done;
      if (done == m) {  // the last op: nothing after it
        if (step < f.e.best) f.e = {step, o};
        s[size_t(o) / 64] &= ~(uint64_t(1) << (o % 64));
        --done;
        continue;
      }
      auto it = memo.find(key_of(s));
      if (it != memo.end()) {
        const int64_t peak = std::max(step, it->second.best);
        if (peak < f.e.best) f.e = {peak, o};
        s[size_t(o) / 64] &= ~(uint64_t(1) << (o % 64));
        --done;
        continue;
      }
      if (int64_t(memo.size()) >= max_states) {
        stopped = true;
        break;
      }
      f.child = o;
      f.child_step = step;
      push();  // may reallocate: `f` is not used after this
      descended = true;
      break;
    }
    if (stopped) break;
    if (descended) continue;
    Frame fin = std::move(stack.back());
    stack.pop_back();
    memo[fin.key] = fin.e;
    returned = fin.e.best;
  }
  if (stopped) {
    MemorySchedule h = schedule_heuristic(d, tensor_bytes, scratch_bytes, inplace_add);
    h.states_explored = int64_t(memo.size());
    h.search_complete = false;
    return h;
  }
  std::vector<int> order;
  std::fill(s.begin(), s.end(), 0);
  for (int k = 0; k < m; ++k) {
    int o = -1;
    if (k == m - 1) {
      for (int c = 0; c < m; ++c)
        if (!has(s, c)) o = c;
    } else {
      o = memo.at(key_of(s)).choice;
    }
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
  const std::vector<int> after_pad = pad_reader(d);
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
    const int must = order.empty() ? -1 : after_pad[size_t(order.back())];
    for (int o = 0; o < m; ++o) {
      if (used[size_t(o)] || (must >= 0 && o != must)) continue;
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
