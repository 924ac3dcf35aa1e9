// The MLPerf Tiny reference models, pinned to hand-derived figures.
#include <gtest/gtest.h>

#include "graph/zoo.h"
#include "resources/profile.h"

namespace mcuprune {
namespace {

Profile profile_of(const std::string& model, Shape in, int classes, const std::string& runtime) {
  ZooOptions o;
  o.input = in;
  o.classes = classes;
  ProfileOptions po;
  po.runtime = runtime;
  return profile_graph(zoo_build(model, o), find_board("nucleo-f446re"), po);
}

TEST(ZooPins, Resnet8At32x32x3) {
  Profile p = profile_of("resnet8", {32, 32, 3}, 10, "cmsis-nn");
  // Parameters (weights + biases, BN folded):
  //   conv1 3*3*3*16+16 = 448; stack1 2 x (3*3*16*16+16) = 4,640;
  //   stack2 3*3*16*32+32 = 4,640, 3*3*32*32+32 = 9,248, shortcut 16*32+32 = 544;
  //   stack3 3*3*32*64+64 = 18,496, 3*3*64*64+64 = 36,928, shortcut 32*64+64 = 2,112;
  //   dense 64*10+10 = 650.  Sum = 77,706 (78,666 with the 960 BN values).
  EXPECT_EQ(p.params, 77706);
  // MACs = Ho*Wo*Co*Kh*Kw*Ci:
  //   conv1 32*32*16*27 = 442,368; stack1 2 x 32*32*16*144 = 4,718,592;
  //   stack2 16*16*32*144 = 1,179,648, 16*16*32*288 = 2,359,296, 16*16*32*16 = 131,072;
  //   stack3 8*8*64*288 = 1,179,648, 8*8*64*576 = 2,359,296, 8*8*64*32 = 131,072;
  //   dense 640.  Sum = 12,501,632 (MLPerf: 12.5 M).
  EXPECT_EQ(p.macs, 12501632);
  // Element ops: adds 16384 + 8192 + 4096; mean 8*8*64 = 4096. Sum = 32,768.
  EXPECT_EQ(p.element_ops, 32768);
  // Peak: while stack1_conv2 runs, conv1's output (kept for the residual), stack1_conv1's
  // output and stack1_conv2's output are live, 3 x 32*32*16 = 49,152 bytes, plus the
  // im2col buffer 2 columns x 3*3*16 x int16 = 576 bytes. Total 49,728.
  EXPECT_EQ(p.optimal.peak_bytes, 49728);
  EXPECT_EQ(p.given.peak_bytes, 49728);
  EXPECT_EQ(p.deployed.ops[p.used.order[p.used.bottleneck_step]].name, "stack1_conv2");
  Profile r = profile_of("resnet8", {32, 32, 3}, 10, "reference");
  EXPECT_EQ(r.optimal.peak_bytes, 49152);  // no im2col buffer
}

TEST(ZooPins, DscnnAt49x10x1) {
  Profile p = profile_of("dscnn", {49, 10, 1}, 12, "cmsis-nn");
  // Parameters: conv1 10*4*1*64+64 = 2,624; 4 x (dw 3*3*64+64 = 640, pw 64*64+64 = 4,160)
  //   = 19,200; dense 64*12+12 = 780.  Sum = 22,604 (MLPerf DS-CNN: 22.6 K).
  EXPECT_EQ(p.params, 22604);
  // MACs: conv1 25*5*64*40 = 320,000; 4 x (dw 25*5*64*9 = 72,000 + pw 25*5*64*64 =
  //   512,000) = 2,336,000; dense 768.  Sum = 2,656,768 (MLPerf: 2.66 M).
  EXPECT_EQ(p.macs, 2656768);
  // Peak: a depthwise step holds its 25x5x64 input and output, 2 x 8,000 bytes; the 3x3
  // depthwise kernel needs no scratch. conv1's step: 490 + 8,000 + im2col 2*2*40 = 8,650.
  EXPECT_EQ(p.optimal.peak_bytes, 16000);
  EXPECT_EQ(p.used.step_bytes[0], 8650);
}

TEST(ZooPins, OptimalSearchStaysSmallOnMobilenetV2) {
  // The search's work is the number of memoised op sets; for MobileNet-v2 (residual blocks
  // whose shortcut carries no op) it is one set per prefix of the chain plus the branch
  // points. Bounding the count bounds the time deterministically (timings: bench/).
  Profile p = profile_of("mobilenetv2", {32, 32, 3}, 10, "cmsis-nn");
  EXPECT_LE(p.optimal.states_explored, 200);
  EXPECT_LE(p.optimal.peak_bytes, p.given.peak_bytes);
}

}  // namespace
}  // namespace mcuprune
