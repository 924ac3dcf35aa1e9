// Peak SRAM under an operator order, and the order that minimises it.
//
// The optimal order (after Liberis & Lane 2019, "saving memory at inference via operator
// reordering"): f(S) = the smallest peak reachable once the ops in S have run, where S is
// closed under predecessors. f(all) = 0, and f(S) = min over ready ops o of
// max(mem(S, o), f(S + o)), with mem(S, o) = bytes of the tensors live while o runs (every
// tensor produced in S, or the model input, that an op outside S still needs, plus o's
// output and scratch). Memoised on S. The number of such sets is exponential in the
// graph's width in the worst case, but small for CNNs, whose branches are few and short.
// Every schedule runs a PAD op (deployed.h) immediately before the op that reads it, as the
// TFLite exporter writes them; delaying a PAD until then never raises the peak (its output
// is at least as large as its input), so the optimum is unchanged.
#pragma once

#include <cstdint>
#include <vector>

#include "resources/deployed.h"

namespace mcuprune {

struct MemorySchedule {
  std::vector<int> order;          // op indices in execution order
  std::vector<int64_t> step_bytes; // memory while each step of the order runs
  int64_t peak_bytes = 0;
  int bottleneck_step = 0;         // index into order of the first step at the peak
  int64_t states_explored = 0;     // optimal search only
  bool search_complete = true;     // false: the search stopped at its state bound (best order found)
};

MemorySchedule schedule_given(const DeployedGraph& d, const std::vector<int64_t>& tensor_bytes,
                              const std::vector<int64_t>& scratch_bytes, bool inplace_add);
// Exact, with an iterative (explicit-stack) search. Past `max_states` memoised states (wide
// graphs: many parallel branches) it stops and returns the better of the graph's order and a
// greedy order, with search_complete = false; callers say so.
constexpr int64_t kMaxScheduleStates = 400000;
MemorySchedule schedule_optimal(const DeployedGraph& d, const std::vector<int64_t>& tensor_bytes,
                                const std::vector<int64_t>& scratch_bytes, bool inplace_add,
                                int64_t max_states = kMaxScheduleStates);
// The better of the graph's order and a greedy one (least memory for the next ready op).
MemorySchedule schedule_heuristic(const DeployedGraph& d, const std::vector<int64_t>& tensor_bytes,
                                  const std::vector<int64_t>& scratch_bytes, bool inplace_add);
// Tries every topological order (for tests; throws std::runtime_error past max_orders).
MemorySchedule schedule_brute_force(const DeployedGraph& d, const std::vector<int64_t>& tensor_bytes,
                                    const std::vector<int64_t>& scratch_bytes, bool inplace_add,
                                    int64_t max_orders = 1000000);
// First-fit placement of buffers with lifetimes (the rule of TFLite Micro's greedy planner and
// of mcuprune's arena planner): buffers are taken in `priority` order, each at the lowest
// offset where it overlaps no placed buffer whose lifetime [first, last] (inclusive) it
// shares. Writes offsets (indexed like size) and returns the arena size.
int64_t first_fit(const std::vector<int64_t>& size, const std::vector<int>& first, const std::vector<int>& last,
                  const std::vector<int>& priority, std::vector<int64_t>& offset);

// Whether `order` runs every op once, each after the producers of its inputs.
bool is_topological_order(const DeployedGraph& d, const std::vector<int>& order);

}  // namespace mcuprune
