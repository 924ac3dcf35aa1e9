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

TflmArena arena_of(const Graph& g, bool cmsis, int pointer_bytes, int64_t* peak = nullptr, bool pad_ops = false) {
  DeployedGraph d = deploy_view(g, DeployOptions{pad_ops});
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

// A PAD as the TFLite exporter writes it. Model: input 8x8x1 -> conv 3x3/2 padded 1 on every
// side (SAME would pad 0 top/left) 4x4x4 -> flatten -> dense 2.
// With the PAD: ops 0 PAD, 1 conv, 2 reshape, 3 fc; tensors (16-rounded) 0 input 64, 1 pad
// 10x10x1 112, 2 conv 64, 3 flatten 64, 4 fc 16; lifetimes [0,0] [0,1] [1,2] [2,3] [3,3].
// Planner order: pad 112, then the 64s in reverse index order (flatten, conv, input), then fc:
// pad@0, flatten@0 (no overlap), conv@112 (overlaps both), input@112 (overlaps the pad only),
// fc@64 (overlaps flatten) -> head 176. Without it (the conv pads itself): conv@64 over
// flatten@0, input@0, fc@64 -> head 128; the PAD costs 48 B here (the input dies before the
// conv, so only the padded copy lives with the conv's output).
// Tail: + 2 TfLiteEvalTensors (padded tensor, paddings), + 1 NodeAndRegistration, + the PAD's
// 64 B OpData; no parsed options: 32-bit 2*12 + 32 + 64 = 120, 64-bit 2*24 + 64 + 64 = 176.
TEST(TflmArena, APadOperatorAndItsTensor) {
  GraphBuilder b("pad", {8, 8, 1});
  Node c;
  c.name = "c";
  c.kind = OpKind::Conv2D;
  c.inputs = {0};
  c.out_channels = 4;
  c.kernel_h = c.kernel_w = 3;
  c.stride_h = c.stride_w = 2;
  c.padding = Padding::Explicit;
  c.pad_top = c.pad_bottom = c.pad_left = c.pad_right = 1;
  b.dense(b.flatten(b.append(c), "flat"), 2, "fc");
  Graph g = b.finish();
  for (int pointer_bytes : {4, 8}) {
    const TflmArena with = arena_of(g, false, pointer_bytes, nullptr, true);
    const TflmArena without = arena_of(g, false, pointer_bytes, nullptr, false);
    EXPECT_EQ(with.head_bytes, 176);
    EXPECT_EQ(without.head_bytes, 128);
    EXPECT_EQ(with.tail_bytes - without.tail_bytes, pointer_bytes == 4 ? 120 : 176);
    bool listed = false;
    for (const auto& [what, bytes] : with.tail_items)
      listed = listed || (what == "TfLiteEvalTensor per tensor (11)" && bytes == 11 * 3 * pointer_bytes);
    EXPECT_TRUE(listed) << "5 activations, 2 weights and 2 biases, the shape, the paddings";
  }
  // Under a TFLM runtime profile the PAD is a row with its tensor live from it to the conv.
  ProfileOptions o;
  o.runtime = "tflm";
  const Profile p = profile_graph(g, find_board("nucleo-f446re"), o);
  ASSERT_EQ(p.rows.size(), 4u);
  EXPECT_EQ(p.rows[0].kind, "PAD");
  EXPECT_EQ(p.rows[0].name, "c.pad");
  EXPECT_EQ(p.rows[1].live_tensors, (std::vector<int>{1, 2}));  // the padded copy and the conv's output
  EXPECT_EQ(p.tflm_head_bytes, 176);
  o.runtime = "mcuprune";  // pads in its kernels: no PAD
  EXPECT_EQ(profile_graph(g, find_board("nucleo-f446re"), o).rows.size(), 3u);
}

// Zoo models have no explicit padding: their TFLM predictions are the ones before PAD
// operators existed (recorded then), byte for byte.
TEST(TflmArena, ZooPredictionsUnchanged) {
  struct Pin {
    const char* model;
    const char* runtime;
    int64_t head, tail;
  };
  const Pin pinned[] = {
    {"tinycnn", "tflm", 15680, 1396},
    {"tinycnn", "tflm-cmsis-nn", 15680, 1500},
    {"vgg", "tflm", 25088, 11780},
    {"vgg", "tflm-cmsis-nn", 25664, 12200},
    {"mobilenetv2", "tflm", 47040, 66348},
    {"mobilenetv2", "tflm-cmsis-nn", 47040, 67232},
    {"resnet8", "tflm", 37632, 5024},
    {"resnet8", "tflm-cmsis-nn", 38208, 5244},
    {"dscnn", "tflm", 25088, 6688},
    {"dscnn", "tflm-cmsis-nn", 25088, 6884},
  };
  for (const Pin& pin : pinned) {
    SCOPED_TRACE(std::string(pin.model) + " " + pin.runtime);
    ProfileOptions o;
    o.runtime = pin.runtime;
    const Profile p = profile_graph(zoo_build(pin.model, ZooOptions{}), find_board("nucleo-f446re"), o);
    EXPECT_EQ(p.tflm_head_bytes, pin.head);
    EXPECT_EQ(p.persistent_ram_bytes, pin.tail);
  }
}

}  // namespace
}  // namespace mcuprune
