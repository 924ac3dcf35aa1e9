// The mcuprune runtime's resource model: its kernels' scratch (planned, counted, dropped when
// the RAM budget would break) and its instruction model (latency = instructions x cycles per
// instruction), by hand on a small graph.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "graph/graph.h"
#include "resources/board.h"
#include "resources/deployed.h"
#include "resources/formulas.h"
#include "resources/profile.h"

namespace mcuprune {
namespace {

// conv 3x3 same (8x8x3 -> 8x8x4), maxpool 2x2, flatten, dense 64 -> 5.
Graph small_graph() {
  GraphBuilder b("small", {8, 8, 3});
  int x = b.conv(0, 4, 3, 1, Padding::Same, "conv");
  x = b.batchnorm(x, "bn");
  x = b.relu(x, "relu");
  x = b.maxpool(x, 2, 2, Padding::Valid, "pool");
  x = b.flatten(x, "flat");
  b.dense(x, 5, "fc");
  return b.finish();
}

TEST(McupruneRuntime, KernelScratchIsCountedAndFiguresAreTheShapes) {
  Graph g = small_graph();
  g.infer_shapes();
  const DeployedGraph d = deploy_view(g, DeployOptions{false});
  const std::vector<int64_t> ch = propagate_channels(d, exact_free_channels(d));
  const RuntimeProfile& rt = find_runtime("mcuprune");
  ASSERT_TRUE(rt.kernel_scratch_buffers);
  ASSERT_TRUE(rt.has_instruction_model);
  const OpCosts<int64_t> conv = op_costs(d, 0, ch, rt), fc = op_costs(d, 3, ch, rt);
  // conv: two im2col columns of 3*3*3 = 27 int16 values, + 12 rounding + 3 alignment.
  EXPECT_EQ(conv.scratch_bytes, 4 * 27 + 15);
  EXPECT_TRUE(conv.scratch_kernel);
  // The instruction model's figures count what the kernel runs: taps in groups of four
  // (27 -> 28), channel and pixel pairs (4 and 64: already even).
  EXPECT_EQ(conv.outputs, 8 * 8 * 4);
  EXPECT_EQ(conv.columns, 8 * 8 * 28);
  EXPECT_EQ(conv.kernel_macs, 8 * 8 * 4 * 28);
  EXPECT_EQ(conv.macs, 8 * 8 * 4 * 27);
  EXPECT_EQ(conv.pixels, 64);
  EXPECT_EQ(conv.channels, 4);
  // Pad 1 on each side: only the 6x6 inside pixels have every tap inside; 28 border pixels.
  EXPECT_EQ(conv.edge_outputs, 28 * 4);
  // dense: its 64 inputs as int16, + 9.
  EXPECT_EQ(fc.scratch_bytes, 2 * 64 + 9);
  EXPECT_EQ(fc.columns, 64);
  // dense: four rows at a time, 5 -> 8 rows run.
  EXPECT_EQ(fc.outputs, 8);
  EXPECT_EQ(fc.kernel_macs, 8 * 64);
  EXPECT_EQ(fc.macs, 5 * 64);
  EXPECT_EQ(op_costs(d, 1, ch, rt).scratch_bytes, 0);  // pooling takes none
}

// The conv's instructions by hand: 256 outputs, 64 pixels, 112 edge outputs, 4 channels, one
// call; with scratch 7168 kernel MACs and 1792 column values (taps in groups of four: 27 ->
// 28), without it 6912 and 1728 (four channels at a time: 4, as it is).
double conv_instructions(const KernelInstructions& k, bool scratch = true) {
  const double macs = scratch ? 7168 : 6912, columns = scratch ? 1792 : 1728;
  return k.per_mac * macs + k.per_output * 256 + k.per_column * columns + k.per_pixel * 64 +
         k.per_edge_output * 112 + k.per_channel * 4 + k.fixed;
}

TEST(McupruneRuntime, LatencyIsTheInstructionModelTimesCyclesPerInstruction) {
  Graph g = small_graph();
  const Board board = find_board("nucleo-f446re");
  ProfileOptions opt;
  opt.runtime = "mcuprune";
  const Profile p = profile_graph(g, board, opt);
  const InstructionModel& m = p.runtime.instructions_dsp;  // a Cortex-M4: the DSP kernels
  ASSERT_EQ(p.rows.size(), 4u);
  const OpRow& conv = p.rows[0];
  ASSERT_EQ(conv.name, "conv");
  const double want = conv_instructions(m.conv);
  EXPECT_NEAR(conv.instructions, want, 1e-6 * want);
  EXPECT_GT(conv.instructions, 6912 * 0.5);  // SMLAD's limit: at least half an instruction per MAC
  double sum = 0;
  for (const OpRow& r : p.rows) sum += r.instructions;
  EXPECT_NEAR(p.instructions, sum, 1e-6 * sum);
  EXPECT_NEAR(p.latency_ms, p.instructions * board.latency.cycles_per_instruction / (board.clock_mhz * 1e3),
              1e-9 * p.latency_ms);
  // Without the kernels' scratch: the scratch-free coefficients, and no scratch in the rows.
  ProfileOptions plain = opt;
  plain.kernel_scratch = 0;
  const Profile q = profile_graph(g, board, plain);
  EXPECT_EQ(q.rows[0].scratch_bytes, 0);
  const double want_plain = conv_instructions(q.runtime.instructions_dsp.conv_plain, false);
  EXPECT_NEAR(q.rows[0].instructions, want_plain, 1e-6 * want_plain);
  EXPECT_NE(q.kernel_note.find("as asked"), std::string::npos) << q.kernel_note;
  // A core without the DSP extension runs the portable kernels' model.
  const Profile r = profile_graph(g, find_board("rp2040"), opt);
  EXPECT_NEAR(r.rows[0].instructions, conv_instructions(r.runtime.instructions_portable.conv), 1e-3);
}

TEST(McupruneRuntime, ScratchIsDroppedWhenItBreaksTheRamBudget) {
  Graph g = small_graph();
  const Board board = find_board("nucleo-f446re");
  ProfileOptions opt;
  opt.runtime = "mcuprune";
  const Profile with = profile_graph(g, board, opt);
  opt.kernel_scratch = 0;
  const Profile without = profile_graph(g, board, opt);
  ASSERT_GT(with.ram_bytes(), without.ram_bytes());  // the conv's scratch is at the peak
  EXPECT_NE(with.kernel_note.find("scratch planned in the arena"), std::string::npos) << with.kernel_note;
  // A RAM budget between the two: the profile takes the scratch-free kernels and says why.
  ProfileOptions tight;
  tight.runtime = "mcuprune";
  tight.budgets[Resource::Ram] = double(without.ram_bytes());
  const Profile t = profile_graph(g, board, tight);
  EXPECT_EQ(t.ram_bytes(), without.ram_bytes());
  EXPECT_TRUE(t.fits());
  EXPECT_FALSE(t.runtime.kernel_scratch_buffers);
  EXPECT_NE(t.kernel_note.find("beyond the RAM budget"), std::string::npos) << t.kernel_note;
  // The scratch-free kernels' instructions (on this 3-channel conv they are even fewer: with
  // a 27-tap filter the im2col fill costs more than it saves, as QEMU measures too).
  EXPECT_DOUBLE_EQ(t.instructions, without.instructions);
  EXPECT_NE(t.instructions, with.instructions);
  EXPECT_EQ(profile_to_json(t)["kernel_note"].get<std::string>(), t.kernel_note);
}

TEST(McupruneRuntime, BoardFilesSetCyclesPerInstructionAndTheDspPath) {
  nlohmann::json j = {{"base", "nucleo-f446re"}, {"name", "x"}, {"latency", {{"cycles_per_instruction", 2.0}}}};
  const Board b = board_from_json(j, "test");
  EXPECT_EQ(b.latency.cycles_per_instruction, 2.0);
  EXPECT_TRUE(b.latency.dsp);
  j["latency"] = {{"dsp", false}};
  EXPECT_FALSE(board_from_json(j, "test").latency.dsp);
  j["latency"] = {{"cycles_per_instruction", 0}};
  EXPECT_THROW(board_from_json(j, "test"), UserError);
}

}  // namespace
}  // namespace mcuprune
