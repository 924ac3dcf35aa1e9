// The TFLite Micro arena simulation against what TFLM allocated for tinycnn in a host build
// (64-bit, reference kernels; issue 11's measurement: planner head 15,680 B, persistent
// 1,984 B), and its invariants: the head never below the peak, alignment to 16, the
// per-channel arrays growing with the channels.
#include <gtest/gtest.h>

#include <cstdio>

#include "graph/zoo.h"
#include "resources/board.h"
#include "resources/formulas.h"
#include "resources/memory.h"
#include "resources/profile.h"
#include "resources/tflm.h"

namespace mcuprune {
namespace {

TflmArena arena_of(const Graph& g, bool cmsis, int pointer_bytes, int64_t* peak = nullptr) {
  DeployedGraph d = deploy_view(g);
  std::vector<int64_t> bytes, scratch(d.ops.size(), 0);
  for (const auto& t : d.tensors) bytes.push_back(t.bytes());
  MemorySchedule s = schedule_optimal(d, bytes, scratch, false);
  if (peak) *peak = s.peak_bytes;
  return tflm_arena(d, s.order, scratch, cmsis, pointer_bytes);
}

TEST(TflmArena, TinycnnMatchesTheHostMeasurement) {
  ZooOptions o;
  o.input = Shape{28, 28, 1};
  o.classes = 10;
  Graph g = zoo_build("tinycnn", o);
  const TflmArena a = arena_of(g, false, 8);
  std::printf("tinycnn, 64-bit: head %lld, tail %lld (measured 15680, 1984)\n", (long long)a.head_bytes,
              (long long)a.tail_bytes);
  EXPECT_EQ(a.head_bytes, 15680);
  // Within 1% of the measured 1,984 bytes and not below it.
  EXPECT_GE(a.tail_bytes, 1984);
  EXPECT_LE(a.tail_bytes, 1984 * 101 / 100);
}

TEST(TflmArena, HeadAtLeastThePeakAndAligned) {
  for (const auto& e : zoo_entries()) {
    SCOPED_TRACE(e.name);
    Graph g = zoo_build(e.name, ZooOptions{});
    int64_t peak = 0;
    const TflmArena a = arena_of(g, false, 4, &peak);
    EXPECT_GE(a.head_bytes, peak);
    EXPECT_EQ(a.head_bytes % 16, 0);
    EXPECT_GT(a.tail_bytes, 0);
    EXPECT_LT(arena_of(g, false, 4).tail_bytes, arena_of(g, false, 8).tail_bytes);  // pointers
  }
}

TEST(TflmArena, ProfileUsesItForTheTflmRuntimes) {
  Graph g = zoo_build("resnet8", ZooOptions{});
  const Board b = find_board("nucleo-f446re");
  ProfileOptions o;
  o.runtime = "tflm";
  Profile p = profile_graph(g, b, o);
  EXPECT_GE(p.tflm_head_bytes, p.used.peak_bytes);
  EXPECT_EQ(p.ram_bytes(), p.tflm_head_bytes + p.persistent_ram_bytes);
  o.runtime = "cmsis-nn";
  EXPECT_EQ(profile_graph(g, b, o).tflm_head_bytes, 0);
}

}  // namespace
}  // namespace mcuprune
