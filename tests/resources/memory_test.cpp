// Peak SRAM under the given order, the optimal order and brute force
// (resources/memory.h, order_memory in formulas.h), and in-place Add. Hand-computed.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

#include "graph/graph.h"
#include "resources/board.h"
#include "resources/deployed.h"
#include "resources/formulas.h"
#include "resources/memory.h"
#include "resources/profile.h"

namespace mcuprune {
namespace {

using I = std::vector<int64_t>;
using V = std::vector<int>;

// Two branches from an 8x8x1 input (64 B), all convs 1x1 unpadded (no scratch under either
// runtime), listed in the order A, B, A2, B2, join:
//   A  = conv(input, 8) 8x8x8 = 512 B      B  = conv(input, 8) 512 B
//   A2 = conv(A, 1)     8x8x1 =  64 B      B2 = conv(B, 1)      64 B
//   join = concat(A2, B2) 8x8x2 = 128 B  or  add(A2, B2) 8x8x1 = 64 B
// Ops 0 A, 1 B, 2 A2, 3 B2, 4 join; tensors 0 input, 1 A, 2 B, 3 A2, 4 B2, 5 join.
Graph two_branches(bool use_add) {
  GraphBuilder b(use_add ? "branches_add" : "branches_concat", {8, 8, 1});
  int a = b.conv(0, 8, 1, 1, Padding::Valid, "A");
  int bb = b.conv(0, 8, 1, 1, Padding::Valid, "B");
  int a2 = b.conv(a, 1, 1, 1, Padding::Valid, "A2");
  int b2 = b.conv(bb, 1, 1, 1, Padding::Valid, "B2");
  if (use_add)
    b.add({a2, b2}, "join");
  else
    b.concat({a2, b2}, "join");
  return b.finish();
}

// Given order A, B, A2, B2, join:
//   A:   input 64 + A 512                      =  576
//   B:   input 64 + A 512 + B 512              = 1088  (A waits for A2)
//   A2:  A 512 + B 512 + A2 64                 = 1088  (the input died at B)
//   B2:  B 512 + A2 64 + B2 64                 =  640
//   join: A2 64 + B2 64 + out (128 concat, 64 add) = 256 / 192
// Orders of {A, A2, B, B2} (A before A2, B before B2; join last), peaks:
//   A A2 B B2: 576, 640 (input+A+A2), 640 (input+A2+B), 640 (A2+B+B2)  -> 640
//   B B2 A A2: symmetric                                                  -> 640
//   the 4 interleavings run B while A is live (or A while B is live) with the input
//   still needed, or A2 while both A and B are live                        -> 1088
// So the minimum over all orders is 640, reached only by finishing one branch first.
TEST(Schedule, OptimalOrderBeatsTheGivenOrderOnTwoBranches) {
  for (bool use_add : {false, true}) {
    SCOPED_TRACE(use_add ? "add" : "concat");
    Graph g = two_branches(use_add);
    DeployedGraph d = deploy_view(g);
    ASSERT_EQ(d.ops.size(), 5u);
    const int64_t join = use_add ? 64 : 128;
    const I bytes = {64, 512, 512, 64, 64, join};
    const I zero(5, 0);
    // The graph's own tensor sizes agree with the hand table.
    for (size_t t = 0; t < bytes.size(); ++t) EXPECT_EQ(d.tensors[t].bytes(), bytes[t]) << t;
    // And neither runtime has scratch for 1x1 unpadded convs / concat / add.
    for (const char* rt : {"cmsis-nn", "reference"}) {
      std::vector<int64_t> ch = propagate_channels(d, exact_free_channels(d));
      GraphCosts<int64_t> gc = graph_costs(d, ch, find_runtime(rt), find_board("rp2040"));
      for (const auto& c : gc.ops) EXPECT_EQ(c.scratch_bytes, 0) << rt;
      EXPECT_EQ(gc.tensor_bytes, bytes);
    }

    MemorySchedule given = schedule_given(d, bytes, zero, false);
    EXPECT_EQ(given.order, (V{0, 1, 2, 3, 4}));
    EXPECT_EQ(given.step_bytes, (I{576, 1088, 1088, 640, 128 + join}));
    EXPECT_EQ(given.peak_bytes, 1088);
    EXPECT_EQ(given.bottleneck_step, 1);

    MemorySchedule opt = schedule_optimal(d, bytes, zero, false);
    EXPECT_EQ(opt.peak_bytes, 640);
    EXPECT_TRUE(is_topological_order(d, opt.order));
    EXPECT_TRUE(opt.order == (V{0, 2, 1, 3, 4}) || opt.order == (V{1, 3, 0, 2, 4}))
        << "the only orders with peak 640 finish one branch first";
    EXPECT_EQ(opt.step_bytes, (I{576, 640, 640, 640, 128 + join}));
    EXPECT_GT(opt.states_explored, 0);
    OrderMemory<int64_t> re = order_memory(d, opt.order, bytes, zero, false);
    EXPECT_EQ(re.peak_bytes, opt.peak_bytes);
    EXPECT_EQ(re.step_bytes, opt.step_bytes);

    MemorySchedule bf = schedule_brute_force(d, bytes, zero, false);
    EXPECT_EQ(bf.peak_bytes, 640);
    EXPECT_EQ(bf.peak_bytes, opt.peak_bytes);
    EXPECT_EQ(bf.states_explored, 6);  // 6 interleavings of two 2-op chains
    EXPECT_TRUE(is_topological_order(d, bf.order));

    // The profile reports both orders and follows the optimal one by default.
    ProfileOptions po;
    po.runtime = "reference";
    Profile p = profile_graph(g, find_board("rp2040"), po);
    EXPECT_EQ(p.given.peak_bytes, 1088);
    EXPECT_EQ(p.optimal.peak_bytes, 640);
    EXPECT_EQ(p.used.peak_bytes, 640);
    po.optimal_order = false;
    Profile pg = profile_graph(g, find_board("rp2040"), po);
    EXPECT_EQ(pg.used.peak_bytes, 1088);
    ASSERT_EQ(pg.rows.size(), 5u);
    EXPECT_EQ(pg.rows[1].live_tensors, (V{0, 1, 2}));
    EXPECT_TRUE(pg.rows[1].bottleneck);
    // ram = peak + persistent; persistent is the same for both orders.
    EXPECT_EQ(p.ram_bytes() - pg.ram_bytes(), 640 - 1088);
  }
}

TEST(Schedule, OptimalOrderWithScratchAndInplaceAdd) {
  // Same two-branch add graph, with scratch 100 on op A2 only (hand-given) and in-place add.
  // Order A A2 B B2 add: 576, A2 step: input 64 + A 512 + A2 64 + 100 = 740, 640, 640,
  //   add: A2 64 + B2 64 + out 64 = 192, in place 128.
  // Order B B2 A A2 add: 576, 640 (input+B+B2), 640 (input+B2+A), A2 step: input dead,
  //   B2 64 + A 512 + A2 64 + 100 = 740 -> peak 740. Every interleaving has a step of
  //   >= 1088 (see above). Minimum 740.
  Graph g = two_branches(true);
  DeployedGraph d = deploy_view(g);
  const I bytes = {64, 512, 512, 64, 64, 64};
  const I scratch = {0, 0, 100, 0, 0};
  for (bool inplace : {false, true}) {
    MemorySchedule opt = schedule_optimal(d, bytes, scratch, inplace);
    MemorySchedule bf = schedule_brute_force(d, bytes, scratch, inplace);
    EXPECT_EQ(opt.peak_bytes, 740);
    EXPECT_EQ(bf.peak_bytes, 740);
    EXPECT_EQ(opt.step_bytes.back(), inplace ? 128 : 192);
  }
}

TEST(Schedule, TopologicalOrderCheck) {
  Graph g = two_branches(false);
  DeployedGraph d = deploy_view(g);
  EXPECT_TRUE(is_topological_order(d, {0, 1, 2, 3, 4}));
  EXPECT_TRUE(is_topological_order(d, {1, 0, 3, 2, 4}));
  EXPECT_FALSE(is_topological_order(d, {2, 0, 1, 3, 4}));  // A2 before A
  EXPECT_FALSE(is_topological_order(d, {0, 1, 2, 4, 3}));  // join before B2
  EXPECT_FALSE(is_topological_order(d, {0, 1, 2, 3}));     // missing an op
  EXPECT_FALSE(is_topological_order(d, {0, 0, 2, 3, 4}));  // repeated op
  EXPECT_FALSE(is_topological_order(d, {0, 1, 2, 3, 5}));  // out of range
}

TEST(Schedule, BruteForceRefusesTooManyOrders) {
  Graph g = two_branches(false);
  DeployedGraph d = deploy_view(g);
  const I bytes = {64, 512, 512, 64, 64, 128};
  EXPECT_THROW(schedule_brute_force(d, bytes, I(5, 0), false, 5), std::runtime_error);
  EXPECT_EQ(schedule_brute_force(d, bytes, I(5, 0), false, 6).peak_bytes, 640);
}

// In-place Add. input 4x4x8 (128 B); c0 = conv 1x1 (8) 128 B; c1 = conv 1x1 (8) of c0,
// 128 B; s = add(c0, c1) 128 B; out = conv 1x1 (2) of s, 4x4x2 = 32 B.
// Tensors 0 input, 1 c0, 2 c1, 3 s, 4 out. Steps (a chain, one order):
//   c0:  input 128 + c0 128            = 256
//   c1:  c0 128 + c1 128               = 256
//   s:   c0 + c1 + s                   = 384   (in place: s reuses c0's/c1's buffer: 256)
//   out: s 128 + out 32                = 160
// Peak 384 without, 256 with in-place add: lower by exactly the add's output, 128 B.
TEST(InplaceAdd, LowersThePeakByTheAddOutput) {
  GraphBuilder b("inplace", {4, 4, 8});
  int c0 = b.conv(0, 8, 1, 1, Padding::Valid, "c0");
  int c1 = b.conv(c0, 8, 1, 1, Padding::Valid, "c1");
  int s = b.add({c0, c1}, "s");
  b.conv(s, 2, 1, 1, Padding::Valid, "out");
  Graph g = b.finish();
  DeployedGraph d = deploy_view(g);
  ASSERT_EQ(d.ops.size(), 4u);
  const I bytes = {128, 128, 128, 128, 32};
  const I zero(4, 0);
  MemorySchedule no = schedule_given(d, bytes, zero, false);
  MemorySchedule yes = schedule_given(d, bytes, zero, true);
  EXPECT_EQ(no.step_bytes, (I{256, 256, 384, 160}));
  EXPECT_EQ(yes.step_bytes, (I{256, 256, 256, 160}));
  EXPECT_EQ(no.peak_bytes, 384);
  EXPECT_EQ(no.bottleneck_step, 2);
  EXPECT_EQ(yes.peak_bytes, 256);
  EXPECT_EQ(yes.bottleneck_step, 0);
  EXPECT_EQ(no.peak_bytes - yes.peak_bytes, d.tensors[3].bytes());
  EXPECT_EQ(schedule_optimal(d, bytes, zero, true).peak_bytes, 256);
  EXPECT_EQ(schedule_optimal(d, bytes, zero, false).peak_bytes, 384);
  EXPECT_EQ(schedule_brute_force(d, bytes, zero, true).peak_bytes, 256);

  // Through profile_graph (reference runtime, no scratch for these ops).
  ProfileOptions po;
  po.runtime = "reference";
  po.inplace_add = true;
  Profile p = profile_graph(g, find_board("nucleo-f746zg"), po);
  EXPECT_EQ(p.used.peak_bytes, 256);
  EXPECT_EQ(p.rows[2].live_bytes, 256);
  po.inplace_add = false;
  EXPECT_EQ(profile_graph(g, find_board("nucleo-f746zg"), po).used.peak_bytes, 384);
}

// The add's inputs are still needed later: in-place must not apply.
// c0, c1 as above; s = add(c0, c1); k = concat(s, c0, c1) 4x4x24 = 384 B.
//   c0: 256; c1: 256; s: c0 + c1 + s = 384 (both inputs live on); k: c0+c1+s+k = 768.
// One input still needed, the other dying: s = add(c0, c1); k = concat(s, c0) 4x4x16 =
// 256 B: s step 384 -> 256 in place (written over c1), k step: c0 + s + k = 512.
TEST(InplaceAdd, DoesNotApplyWhileTheInputsAreStillNeeded) {
  {
    GraphBuilder b("keep_both", {4, 4, 8});
    int c0 = b.conv(0, 8, 1, 1, Padding::Valid, "c0");
    int c1 = b.conv(c0, 8, 1, 1, Padding::Valid, "c1");
    int s = b.add({c0, c1}, "s");
    b.concat({s, c0, c1}, "k");
    Graph g = b.finish();
    DeployedGraph d = deploy_view(g);
    const I bytes = {128, 128, 128, 128, 384};
    const I zero(4, 0);
    for (bool inplace : {false, true}) {
      MemorySchedule m = schedule_given(d, bytes, zero, inplace);
      EXPECT_EQ(m.step_bytes, (I{256, 256, 384, 768})) << inplace;
      EXPECT_EQ(schedule_optimal(d, bytes, zero, inplace).peak_bytes, 768);
    }
  }
  {
    GraphBuilder b("keep_one", {4, 4, 8});
    int c0 = b.conv(0, 8, 1, 1, Padding::Valid, "c0");
    int c1 = b.conv(c0, 8, 1, 1, Padding::Valid, "c1");
    int s = b.add({c0, c1}, "s");
    b.concat({s, c0}, "k");
    Graph g = b.finish();
    DeployedGraph d = deploy_view(g);
    const I bytes = {128, 128, 128, 128, 256};
    const I zero(4, 0);
    EXPECT_EQ(schedule_given(d, bytes, zero, false).step_bytes, (I{256, 256, 384, 512}));
    EXPECT_EQ(schedule_given(d, bytes, zero, true).step_bytes, (I{256, 256, 256, 512}));
  }
}

// 24 parallel branches into one concat: the exact search has ~2^24 states. It stops at its
// bound and returns a valid order (the best of the graph's and a greedy one), and says so.
TEST(Schedule, WideGraphSearchIsBoundedAndSaysSo) {
  GraphBuilder b("wide", {8, 8, 4});
  std::vector<int> ends;
  for (int k = 0; k < 24; ++k) ends.push_back(b.conv(b.conv(0, 4, 1, 1, Padding::Valid), 2, 1, 1, Padding::Valid));
  b.concat(ends);
  Graph g = b.finish();
  const Profile p = profile_graph(g, find_board("nucleo-f446re"), ProfileOptions{});
  EXPECT_FALSE(p.optimal.search_complete);
  // Frames that finish while the search unwinds add a few states past the bound.
  EXPECT_LE(p.optimal.states_explored, kMaxScheduleStates + 64);
  EXPECT_TRUE(is_topological_order(p.deployed, p.optimal.order));
  EXPECT_LE(p.optimal.peak_bytes, p.given.peak_bytes);
  EXPECT_NE(profile_table(p).find("not proven optimal"), std::string::npos);
  EXPECT_EQ(profile_to_json(p)["optimal_search_complete"], false);
  // A small bound on a graph it can finish: the two-branch graph, exact as before.
  DeployedGraph d = deploy_view(two_branches(false));
  const I bytes = {64, 512, 512, 64, 64, 128}, zero(5, 0);
  EXPECT_TRUE(schedule_optimal(d, bytes, zero, false).search_complete);
  EXPECT_FALSE(schedule_optimal(d, bytes, zero, false, 1).search_complete);
}

// A chain of 9,000 operators: the search is iterative, so depth does not overflow the stack.
TEST(Schedule, DeepChainDoesNotRecurse) {
  GraphBuilder b("deep", {4, 4, 2});
  int x = 0;
  for (int k = 0; k < 9000; ++k) x = b.relu(x);
  Graph g = b.finish();
  DeployedGraph d = deploy_view(g);
  std::vector<int64_t> bytes;
  for (const auto& t : d.tensors) bytes.push_back(t.bytes());
  const MemorySchedule s = schedule_optimal(d, bytes, std::vector<int64_t>(d.ops.size(), 0), false);
  EXPECT_TRUE(s.search_complete);
  EXPECT_EQ(s.order.size(), d.ops.size());
  EXPECT_EQ(s.peak_bytes, 64);  // one 4x4x2 int8 tensor in, one out
}

// A TFLite PAD (DeployOptions::pad_operators) runs right before the conv that reads it, in
// every schedule. Graph: input 8x8x1 (64 B) -> X = conv 3x3/1 padded (2, 0, 2, 0) (not SAME:
// a PAD to 10x10x1 = 100 B, then X 8x8x1 64 B); Y = conv 1x1 of the input (64 B); add(X, Y).
// Ops 0 PAD, 1 X, 2 Y, 3 add; tensors 0 input, 1 pad, 2 X, 3 Y, 4 add.
// Orders with the PAD next to X: [P X Y A] steps 164, 228 (pad + X + the input Y needs), 192,
//   192; [Y P X A] steps 128, 228 (input + Y + pad), 228, 192. Both peak at 228. [P Y X A]
//   (also 228) separates the PAD from X: never chosen, not even counted by brute force.
TEST(Schedule, APadOpRunsRightBeforeItsReader) {
  GraphBuilder b("pad_branch", {8, 8, 1});
  Node x;
  x.name = "X";
  x.kind = OpKind::Conv2D;
  x.inputs = {0};
  x.out_channels = 1;
  x.kernel_h = x.kernel_w = 3;
  x.padding = Padding::Explicit;
  x.pad_top = 2, x.pad_left = 2;
  int xi = b.append(x);
  int y = b.conv(0, 1, 1, 1, Padding::Valid, "Y");
  b.add({xi, y}, "A");
  Graph g = b.finish();
  DeployedGraph d = deploy_view(g, DeployOptions{true});
  ASSERT_EQ(d.ops.size(), 4u);
  ASSERT_TRUE(is_pad_op(d, 0));
  const I bytes = {64, 100, 64, 64, 64};
  for (size_t t = 0; t < bytes.size(); ++t) EXPECT_EQ(d.tensors[t].bytes(), bytes[t]) << t;
  const I zero(4, 0);
  auto pad_then_reader = [](const V& order) {
    auto it = std::find(order.begin(), order.end(), 0);
    return it + 1 != order.end() && *(it + 1) == 1;
  };
  MemorySchedule given = schedule_given(d, bytes, zero, false);
  EXPECT_EQ(given.order, (V{0, 1, 2, 3}));
  EXPECT_EQ(given.step_bytes, (I{164, 228, 192, 192}));
  MemorySchedule opt = schedule_optimal(d, bytes, zero, false);
  EXPECT_EQ(opt.peak_bytes, 228);
  EXPECT_TRUE(pad_then_reader(opt.order)) << "optimal";
  MemorySchedule heur = schedule_heuristic(d, bytes, zero, false);
  EXPECT_EQ(heur.peak_bytes, 228);
  EXPECT_TRUE(pad_then_reader(heur.order)) << "heuristic";
  MemorySchedule bf = schedule_brute_force(d, bytes, zero, false);
  EXPECT_EQ(bf.states_explored, 2);  // [P X Y A] and [Y P X A]
  EXPECT_EQ(bf.peak_bytes, 228);
  EXPECT_TRUE(pad_then_reader(bf.order)) << "brute force";
  // The search under its state bound (heuristic fallback) keeps the rule too.
  MemorySchedule bounded = schedule_optimal(d, bytes, zero, false, 1);
  EXPECT_TRUE(pad_then_reader(bounded.order)) << "bounded";
}

}  // namespace
}  // namespace mcuprune
