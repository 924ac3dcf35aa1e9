// Property test of the memory schedules on ~200 random small DAGs (deterministic seed):
// the memoised optimal search finds the brute-force minimum peak, with and without in-place
// Add, with either runtime's scratch buffers; its order is topological and reproduces its
// peak; and the step memory of every schedule agrees with an independent re-implementation
// of the definition in METHOD.md section 3.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "resources/board.h"
#include "resources/deployed.h"
#include "resources/formulas.h"
#include "resources/memory.h"
#include "common/random_graph.h"

namespace mcuprune {
namespace {

using I = std::vector<int64_t>;
using V = std::vector<int>;

// METHOD.md 3: a tensor is live from the step of the op that produces it (the model input
// from the start) until the step of its last consumer (the model output to the end); the
// memory of a step is the sum of its live tensors plus the op's scratch. With in-place Add,
// an Add one of whose inputs (not the model output) is last used at that step writes over
// it and its output adds nothing at that step.
I reference_steps(const DeployedGraph& d, const V& order, const I& bytes, const I& scratch,
                  bool inplace_add) {
  const int m = int(order.size());
  V step_of(d.ops.size(), -1);
  for (int s = 0; s < m; ++s) step_of[size_t(order[size_t(s)])] = s;
  V born(d.tensors.size()), dies(d.tensors.size());
  for (size_t t = 0; t < d.tensors.size(); ++t) {
    const DeployedTensor& tt = d.tensors[t];
    born[t] = tt.producer < 0 ? 0 : step_of[size_t(tt.producer)];
    int last = born[t];
    for (int c : tt.consumers) last = std::max(last, step_of[size_t(c)]);
    dies[t] = tt.is_model_output ? m - 1 : last;
  }
  I steps;
  for (int s = 0; s < m; ++s) {
    const DeployedOp& op = d.ops[size_t(order[size_t(s)])];
    bool shares = false;
    if (inplace_add && op.kind == DeployedKind::Add)
      for (int in : op.inputs)
        if (dies[size_t(in)] == s && !d.tensors[size_t(in)].is_model_output) shares = true;
    int64_t mem = scratch[size_t(order[size_t(s)])];
    for (size_t t = 0; t < d.tensors.size(); ++t) {
      if (born[t] > s || dies[t] < s) continue;
      if (shares && int(t) == op.output) continue;
      mem += bytes[t];
    }
    steps.push_back(mem);
  }
  return steps;
}

TEST(ScheduleProperty, OptimalEqualsBruteForceOnRandomDags) {
  std::mt19937 rng(20240611u);
  const Board board = find_board("nucleo-f446re");
  int reordered = 0, inplace_helped = 0, with_scratch = 0, total_ops = 0;
  const int kGraphs = 200;
  for (int gi = 0; gi < kGraphs && !HasFailure(); ++gi) {
    Graph g = test::random_graph(rng, gi);
    SCOPED_TRACE("graph " + std::to_string(gi) + " with " + std::to_string(g.nodes.size()) +
                 " IR nodes");
    DeployedGraph d = deploy_view(g);
    ASSERT_GE(d.ops.size(), 1u);
    ASSERT_LE(d.ops.size(), 9u);
    total_ops += int(d.ops.size());
    // Every tensor except the output is read by some op (nothing dangles).
    for (const DeployedTensor& t : d.tensors)
      EXPECT_TRUE(t.is_model_output || !t.consumers.empty()) << t.name;
    // The exact channel propagation reproduces the inferred shapes.
    std::vector<int64_t> ch = propagate_channels(d, exact_free_channels(d));
    for (size_t t = 0; t < d.tensors.size(); ++t)
      EXPECT_EQ(ch[t], d.tensors[t].shape.c) << d.tensors[t].name;

    for (const char* rt_name : {"cmsis-nn", "reference"}) {
      SCOPED_TRACE(rt_name);
      GraphCosts<int64_t> gc = graph_costs(d, ch, find_runtime(rt_name), board);
      I scratch;
      for (const auto& c : gc.ops) scratch.push_back(c.scratch_bytes);
      for (size_t t = 0; t < d.tensors.size(); ++t)
        EXPECT_EQ(gc.tensor_bytes[t], d.tensors[t].bytes());
      if (std::any_of(scratch.begin(), scratch.end(), [](int64_t v) { return v > 0; }))
        ++with_scratch;
      int64_t opt_plain = 0;
      for (bool inplace : {false, true}) {
        SCOPED_TRACE(inplace ? "in-place add" : "no in-place add");
        MemorySchedule given = schedule_given(d, gc.tensor_bytes, scratch, inplace);
        MemorySchedule opt = schedule_optimal(d, gc.tensor_bytes, scratch, inplace);
        MemorySchedule bf = schedule_brute_force(d, gc.tensor_bytes, scratch, inplace);
        EXPECT_EQ(opt.peak_bytes, bf.peak_bytes);
        EXPECT_TRUE(is_topological_order(d, opt.order));
        EXPECT_TRUE(is_topological_order(d, bf.order));
        EXPECT_LE(opt.peak_bytes, given.peak_bytes);

        V identity(d.ops.size());
        for (size_t k = 0; k < identity.size(); ++k) identity[k] = int(k);
        I ref_given = reference_steps(d, identity, gc.tensor_bytes, scratch, inplace);
        EXPECT_EQ(given.step_bytes, ref_given);
        EXPECT_EQ(given.peak_bytes, *std::max_element(ref_given.begin(), ref_given.end()));
        I ref_opt = reference_steps(d, opt.order, gc.tensor_bytes, scratch, inplace);
        EXPECT_EQ(opt.step_bytes, ref_opt);
        EXPECT_EQ(opt.peak_bytes, *std::max_element(ref_opt.begin(), ref_opt.end()));
        I ref_bf = reference_steps(d, bf.order, gc.tensor_bytes, scratch, inplace);
        EXPECT_EQ(bf.peak_bytes, *std::max_element(ref_bf.begin(), ref_bf.end()));
        OrderMemory<int64_t> om = order_memory(d, opt.order, gc.tensor_bytes, scratch, inplace);
        EXPECT_EQ(om.peak_bytes, opt.peak_bytes);
        EXPECT_EQ(om.step_bytes[size_t(opt.bottleneck_step)], opt.peak_bytes);

        if (!inplace) {
          opt_plain = opt.peak_bytes;
          if (opt.peak_bytes < given.peak_bytes) ++reordered;
        } else {
          EXPECT_LE(opt.peak_bytes, opt_plain);  // sharing a buffer never costs memory
          if (opt.peak_bytes < opt_plain) ++inplace_helped;
        }
      }
    }
  }
  // The generator must actually exercise the interesting cases.
  EXPECT_GT(reordered, 10);
  EXPECT_GT(inplace_helped, 5);
  EXPECT_GT(with_scratch, 100);
  EXPECT_GT(total_ops, 2 * kGraphs);
}

}  // namespace
}  // namespace mcuprune
