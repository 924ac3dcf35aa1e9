// Exact resource figures (resources/formulas.h, profile.h) of small graphs, computed by hand.
//
// Runtime constants used below (board.cpp, builtin_runtimes; the same for both runtimes
// except im2col_scratch): quant_param_bytes q = 12, quant_table_bytes qt = 32,
// model_overhead = 1024, op_overhead = 80, tensor_overhead = 80,
// requant_bytes_per_channel = 8, tensor_ram_bytes = 12.
// nucleo-f446re (cortex-m4 = cortex-m7 x 1.3): conv 3.5*1.3 = 4.55 cycles/MAC,
// depthwise 7.8, dense 4.55, pool 2.6 cycles/op, eltwise 7.8 cycles/op, fixed 6500 cycles
// per op, 180 MHz, SRAM 128 KiB, flash 512 KiB.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
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

// input 8x8x3 -> conv 3x3 4 same (+bn +relu) -> maxpool 2/2 -> flatten -> dense 5.
// Deployed ops: 0 conv (CONV_2D, fused bn, relu), 1 pool, 2 flat (RESHAPE), 3 fc.
// Tensors: 0 input 8x8x3 = 192 B, 1 relu 8x8x4 = 256 B, 2 pool 4x4x4 = 64 B,
//          3 flat 1x1x64 = 64 B, 4 fc 1x1x5 = 5 B.
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

// ---- hand-computed figures of small_graph -------------------------------------------
// conv: Cin = 3, Cout = 4, k = 3x3 = 9, output 8x8 = 64 positions.
//   weights = 3*4*9 = 108; params = 108 + 4 biases = 112
//   weight_bytes = 108 (int8) + 4*(4 bias bytes + 2*12 per-channel q for weight and bias)
//                  + 2*32 (quant tables of weight and bias tensors) = 108 + 112 + 64 = 284
//   MACs = 3*4*9*64 = 6912; persistent = 4 channels * 8 = 32
//   scratch (cmsis-nn): 3x3 with same padding (pad 1) is not pointwise -> im2col
//     2 columns * int16 * Cin*kh*kw = 2*2*3*9 = 108; reference: 0
// pool: element ops = C * kh*kw * out_hw = 4 * 4 * 16 = 256
// flat: element ops = C_out * out_hw = 64 * 1 = 64
// fc: Cin = 64 (4 channels * 4*4 positions), Cout = 5
//   weights = 320; params = 325; weight_bytes = 320 + 5*4 + 2*(12+32) = 428 (per tensor)
//   MACs = 320; persistent = 8 (per-tensor quantisation: one multiplier + shift)
constexpr int64_t kConvParams = 112, kConvW = 284, kConvMacs = 6912, kConvScratch = 108;
constexpr int64_t kPoolOps = 256, kFlatOps = 64;
constexpr int64_t kFcParams = 325, kFcW = 428, kFcMacs = 320;
// Flash: weight bytes 284 + 428 = 712, plus fixed
//   model 1024 + 4 ops * 80 + 2 weighted ops * 2 constant tensors * 80 = 1024+320+320 = 1664
//   + 5 activation tensors * (80 + 32 + 12) = 620  -> fixed 2284, total 2996.
constexpr int64_t kFlash = 2996;
// Persistent RAM: requantisation 32 + 8 = 40, plus runtime tensor structs for
// 5 activation tensors + 2*2 constant tensors = 9 * 12 = 108 -> 148.
constexpr int64_t kPersistent = 148;
// Latency on nucleo-f446re, cycles:
//   conv 6912*2.152 + 6500 = 14874.624 + 6500 = 21374.624
//   pool 256*2.6 + 6500 = 7165.6;  flat 64*7.8 + 6500 = 6999.2;  fc 320*2.152 + 6500 = 7188.64
//   total 42728.064 cycles / 180e3 cycles per ms
constexpr double kLatConv = 21374.624 / 180e3, kLatPool = 7165.6 / 180e3,
                 kLatFlat = 6999.2 / 180e3, kLatFc = 7188.64 / 180e3;
constexpr double kLatency = 42728.064 / 180e3;
// Memory per step, given order (the only order: a chain):
//   step 0 conv: input 192 + relu 256 + scratch  -> cmsis 556, reference 448
//   step 1 pool: relu 256 + pool 64 = 320 (the input died after step 0)
//   step 2 flat: pool 64 + flat 64 = 128
//   step 3 fc:   flat 64 + fc 5 = 69
const I kStepsCmsis = {556, 320, 128, 69};
const I kStepsRef = {448, 320, 128, 69};

struct Costs {
  DeployedGraph d;
  std::vector<int64_t> ch;
};

Costs costs_of(const Graph& g) {
  Costs c;
  c.d = deploy_view(g);
  c.ch = propagate_channels(c.d, exact_free_channels(c.d));
  return c;
}

TEST(ExactCosts, PerOpFiguresOfTheSmallGraph) {
  Graph g = small_graph();
  Costs c = costs_of(g);
  const DeployedGraph& d = c.d;
  ASSERT_EQ(d.ops.size(), 4u);
  EXPECT_EQ(c.ch, (I{3, 4, 4, 64, 5}));
  for (const char* rt_name : {"cmsis-nn", "reference"}) {
    SCOPED_TRACE(rt_name);
    const RuntimeProfile& rt = find_runtime(rt_name);
    const bool cmsis = std::string(rt_name) == "cmsis-nn";
    OpCosts<int64_t> conv = op_costs(d, 0, c.ch, rt);
    EXPECT_EQ(conv.params, kConvParams);
    EXPECT_EQ(conv.weight_bytes, kConvW);
    EXPECT_EQ(conv.macs, kConvMacs);
    EXPECT_EQ(conv.element_ops, 0);
    EXPECT_EQ(conv.scratch_bytes, cmsis ? kConvScratch : 0);
    EXPECT_EQ(conv.persistent_bytes, 32);

    OpCosts<int64_t> pool = op_costs(d, 1, c.ch, rt);
    EXPECT_EQ(pool.params, 0);
    EXPECT_EQ(pool.weight_bytes, 0);
    EXPECT_EQ(pool.macs, 0);
    EXPECT_EQ(pool.element_ops, kPoolOps);
    EXPECT_EQ(pool.scratch_bytes, 0);
    EXPECT_EQ(pool.persistent_bytes, 0);

    OpCosts<int64_t> flat = op_costs(d, 2, c.ch, rt);
    EXPECT_EQ(flat.element_ops, kFlatOps);
    EXPECT_EQ(flat.weight_bytes, 0);
    EXPECT_EQ(flat.scratch_bytes, 0);

    OpCosts<int64_t> fc = op_costs(d, 3, c.ch, rt);
    EXPECT_EQ(fc.params, kFcParams);
    EXPECT_EQ(fc.weight_bytes, kFcW);
    EXPECT_EQ(fc.macs, kFcMacs);
    EXPECT_EQ(fc.element_ops, 0);
    EXPECT_EQ(fc.scratch_bytes, 0);
    EXPECT_EQ(fc.persistent_bytes, 8);
  }
}

TEST(ExactCosts, GraphTotalsLatencyAndStepMemoryOfTheSmallGraph) {
  Graph g = small_graph();
  Costs c = costs_of(g);
  Board board = find_board("nucleo-f446re");
  for (const char* rt_name : {"cmsis-nn", "reference"}) {
    SCOPED_TRACE(rt_name);
    const RuntimeProfile& rt = find_runtime(rt_name);
    const bool cmsis = std::string(rt_name) == "cmsis-nn";
    GraphCosts<int64_t> gc = graph_costs(c.d, c.ch, rt, board);
    EXPECT_EQ(gc.tensor_bytes, (I{192, 256, 64, 64, 5}));
    EXPECT_EQ(gc.params, kConvParams + kFcParams);  // 437
    EXPECT_EQ(gc.flash_bytes, kFlash);
    EXPECT_EQ(gc.macs, kConvMacs + kFcMacs);          // 7232
    EXPECT_EQ(gc.element_ops, kPoolOps + kFlatOps);   // 320
    EXPECT_EQ(gc.persistent_ram_bytes, kPersistent);
    ASSERT_EQ(gc.op_latency_ms.size(), 4u);
    EXPECT_NEAR(gc.op_latency_ms[0], kLatConv, 1e-12);
    EXPECT_NEAR(gc.op_latency_ms[1], kLatPool, 1e-12);
    EXPECT_NEAR(gc.op_latency_ms[2], kLatFlat, 1e-12);
    EXPECT_NEAR(gc.op_latency_ms[3], kLatFc, 1e-12);
    EXPECT_NEAR(gc.latency_ms, kLatency, 1e-12);

    I scratch;
    for (const auto& o : gc.ops) scratch.push_back(o.scratch_bytes);
    EXPECT_EQ(scratch, (I{cmsis ? kConvScratch : 0, 0, 0, 0}));
    const I& steps = cmsis ? kStepsCmsis : kStepsRef;
    OrderMemory<int64_t> m = order_memory(c.d, {0, 1, 2, 3}, gc.tensor_bytes, scratch, false);
    EXPECT_EQ(m.step_bytes, steps);
    EXPECT_EQ(m.peak_bytes, steps[0]);
    MemorySchedule given = schedule_given(c.d, gc.tensor_bytes, scratch, false);
    EXPECT_EQ(given.order, (std::vector<int>{0, 1, 2, 3}));
    EXPECT_EQ(given.step_bytes, steps);
    EXPECT_EQ(given.peak_bytes, steps[0]);
    EXPECT_EQ(given.bottleneck_step, 0);
    MemorySchedule opt = schedule_optimal(c.d, gc.tensor_bytes, scratch, false);
    EXPECT_EQ(opt.order, given.order);  // a chain has a single order
    EXPECT_EQ(opt.peak_bytes, steps[0]);
  }
}

TEST(ExactCosts, LatencyScalesWithTheBoardClock) {
  // The same model on nucleo-h743zi (cortex-m7 coefficients, 480 MHz):
  //   conv 6912*3.5 + 5000 = 29192; pool 256*2 + 5000 = 5512; flat 64*6 + 5000 = 5384;
  //   fc 320*3.5 + 5000 = 6120; total 46208 cycles / 480e3 = 0.096266666... ms.
  Graph g = small_graph();
  Costs c = costs_of(g);
  GraphCosts<int64_t> gc =
      graph_costs(c.d, c.ch, find_runtime("cmsis-nn"), find_board("nucleo-h743zi"));
  EXPECT_NEAR(gc.latency_ms, 46208.0 / 480e3, 1e-12);
  EXPECT_NEAR(gc.op_latency_ms[0], 29192.0 / 480e3, 1e-12);
}

TEST(Profile, RowsTotalsAndBoardBudgetsOfTheSmallGraph) {
  Graph g = small_graph();
  Board board = find_board("nucleo-f446re");
  // Board budgets: RAM 131072 - min(32 KiB, 131072/8 = 16384) = 114688;
  // flash 524288 - min(128 KiB, 524288/4 = 131072) = 393216.
  EXPECT_EQ(board.ram_budget_bytes(), 114688);
  EXPECT_EQ(board.flash_budget_bytes(), 393216);
  for (const char* rt_name : {"cmsis-nn", "reference"}) {
    SCOPED_TRACE(rt_name);
    const bool cmsis = std::string(rt_name) == "cmsis-nn";
    ProfileOptions opt;
    opt.runtime = rt_name;
    Profile p = profile_graph(g, board, opt);
    EXPECT_EQ(p.runtime.name, rt_name);
    ASSERT_EQ(p.rows.size(), 4u);
    const I& steps = cmsis ? kStepsCmsis : kStepsRef;
    const std::vector<std::string> names = {"conv", "pool", "flat", "fc"};
    const std::vector<std::string> kinds = {"CONV_2D", "MAX_POOL_2D", "RESHAPE",
                                            "FULLY_CONNECTED"};
    const I params = {kConvParams, 0, 0, kFcParams}, flash = {kConvW, 0, 0, kFcW};
    const I macs = {kConvMacs, 0, 0, kFcMacs}, eops = {0, kPoolOps, kFlatOps, 0};
    const I scratch = {cmsis ? kConvScratch : 0, 0, 0, 0};
    const std::vector<double> lat = {kLatConv, kLatPool, kLatFlat, kLatFc};
    const std::vector<std::vector<int>> live = {{0, 1}, {1, 2}, {2, 3}, {3, 4}};
    const std::vector<Shape> out = {{8, 8, 4}, {4, 4, 4}, {1, 1, 64}, {1, 1, 5}};
    for (int k = 0; k < 4; ++k) {
      SCOPED_TRACE(k);
      const OpRow& r = p.rows[size_t(k)];
      EXPECT_EQ(r.op, k);
      EXPECT_EQ(r.name, names[size_t(k)]);
      EXPECT_EQ(r.kind, kinds[size_t(k)]);
      EXPECT_EQ(r.out, out[size_t(k)]);
      EXPECT_EQ(r.params, params[size_t(k)]);
      EXPECT_EQ(r.flash_bytes, flash[size_t(k)]);
      EXPECT_EQ(r.macs, macs[size_t(k)]);
      EXPECT_EQ(r.element_ops, eops[size_t(k)]);
      EXPECT_EQ(r.scratch_bytes, scratch[size_t(k)]);
      EXPECT_NEAR(r.latency_ms, lat[size_t(k)], 1e-12);
      EXPECT_EQ(r.live_bytes, steps[size_t(k)]);
      EXPECT_EQ(r.live_tensors, live[size_t(k)]);
      EXPECT_EQ(r.bottleneck, k == 0);
    }
    EXPECT_EQ(p.rows[0].fused, (std::vector<std::string>{"bn", "relu"}));
    EXPECT_TRUE(p.rows[3].fused.empty());

    EXPECT_EQ(p.params, 437);
    EXPECT_EQ(p.flash_bytes, kFlash);
    EXPECT_EQ(p.macs, 7232);
    EXPECT_EQ(p.element_ops, 320);
    EXPECT_EQ(p.persistent_ram_bytes, kPersistent);
    EXPECT_NEAR(p.latency_ms, kLatency, 1e-12);
    EXPECT_EQ(p.given.peak_bytes, steps[0]);
    EXPECT_EQ(p.optimal.peak_bytes, steps[0]);
    EXPECT_EQ(p.used.peak_bytes, steps[0]);
    // RAM = peak activations + persistent: cmsis 556 + 148 = 704, reference 448 + 148 = 596.
    const int64_t ram = cmsis ? 704 : 596;
    EXPECT_EQ(p.ram_bytes(), ram);

    ASSERT_EQ(p.budgets.size(), 2u);  // only the board's RAM and flash without options
    EXPECT_EQ(p.budgets[0].resource, Resource::Ram);
    EXPECT_STREQ(resource_unit(p.budgets[0].resource), "bytes");
    EXPECT_EQ(p.budgets[0].source, "board");
    EXPECT_DOUBLE_EQ(p.budgets[0].used, double(ram));
    EXPECT_DOUBLE_EQ(p.budgets[0].budget, 114688.0);
    EXPECT_DOUBLE_EQ(p.budgets[0].margin, 114688.0 - double(ram));
    EXPECT_TRUE(p.budgets[0].fits);
    EXPECT_EQ(p.budgets[1].resource, Resource::Flash);
    EXPECT_EQ(p.budgets[1].source, "board");
    EXPECT_DOUBLE_EQ(p.budgets[1].used, 2996.0);
    EXPECT_DOUBLE_EQ(p.budgets[1].budget, 393216.0);
    EXPECT_DOUBLE_EQ(p.budgets[1].margin, 390220.0);
    EXPECT_TRUE(p.budgets[1].fits);
    EXPECT_TRUE(p.fits());

    nlohmann::json j = profile_to_json(p);
    EXPECT_EQ(j["totals"]["ram_bytes"].get<int64_t>(), ram);
    EXPECT_EQ(j["totals"]["flash_bytes"].get<int64_t>(), kFlash);
    EXPECT_EQ(j["totals"]["peak_sram_bytes"].get<int64_t>(), steps[0]);
    EXPECT_EQ(j["totals"]["bottleneck_operator"].get<std::string>(), "conv");
    EXPECT_EQ(j["execution_order"], nlohmann::json({"conv", "pool", "flat", "fc"}));
    EXPECT_EQ(j["operators"][0]["live_tensors"], nlohmann::json({"input", "relu"}));
    EXPECT_TRUE(j["fits"].get<bool>());
  }
  // The board's default runtime is cmsis-nn.
  Profile p = profile_graph(g, board, ProfileOptions{});
  EXPECT_EQ(p.runtime.name, "cmsis-nn");
  EXPECT_EQ(p.ram_bytes(), 704);
}

TEST(Profile, ExplicitBudgetsOneFails) {
  Graph g = small_graph();
  Board board = find_board("nucleo-f446re");
  // cmsis-nn: RAM 704, flash 2996, MACs 7232, latency 0.2373781 ms.
  {
    ProfileOptions opt;
    opt.budgets[Resource::Ram] = 700;      // 704 > 700: over by 4
    opt.budgets[Resource::Flash] = 3000;   // fits by 4
    opt.budgets[Resource::Macs] = 7232;          // exactly at the budget: fits, margin 0
    opt.budgets[Resource::Latency] = 0.5;     // fits by 0.5 - 0.2373781
    Profile p = profile_graph(g, board, opt);
    ASSERT_EQ(p.budgets.size(), 4u);
    const BudgetCheck& ram = p.budgets[0];
    EXPECT_EQ(ram.resource, Resource::Ram);
    EXPECT_EQ(ram.source, "option");
    EXPECT_DOUBLE_EQ(ram.used, 704.0);
    EXPECT_DOUBLE_EQ(ram.budget, 700.0);
    EXPECT_FALSE(ram.fits);
    EXPECT_DOUBLE_EQ(ram.margin, -4.0);
    const BudgetCheck& flash = p.budgets[1];
    EXPECT_EQ(flash.resource, Resource::Flash);
    EXPECT_EQ(flash.source, "option");
    EXPECT_TRUE(flash.fits);
    EXPECT_DOUBLE_EQ(flash.margin, 4.0);
    const BudgetCheck& macs = p.budgets[2];
    EXPECT_EQ(macs.resource, Resource::Macs);
    EXPECT_STREQ(resource_unit(macs.resource), "MACs");
    EXPECT_DOUBLE_EQ(macs.used, 7232.0);
    EXPECT_TRUE(macs.fits);
    EXPECT_DOUBLE_EQ(macs.margin, 0.0);
    const BudgetCheck& lat = p.budgets[3];
    EXPECT_EQ(lat.resource, Resource::Latency);
    EXPECT_STREQ(resource_unit(lat.resource), "ms");
    EXPECT_NEAR(lat.used, kLatency, 1e-12);
    EXPECT_TRUE(lat.fits);
    EXPECT_NEAR(lat.margin, 0.5 - kLatency, 1e-12);
    EXPECT_FALSE(p.fits());
    EXPECT_NE(profile_table(p).find("the model does NOT fit"), std::string::npos);
  }
  {
    ProfileOptions opt;
    opt.budgets[Resource::Ram] = 704;      // exactly: fits
    opt.budgets[Resource::Flash] = 2995;   // over by 1
    opt.budgets[Resource::Macs] = 7231;          // over by 1
    opt.budgets[Resource::Latency] = 0.2;     // 0.2374 > 0.2
    Profile p = profile_graph(g, board, opt);
    ASSERT_EQ(p.budgets.size(), 4u);
    EXPECT_TRUE(p.budgets[0].fits);
    EXPECT_DOUBLE_EQ(p.budgets[0].margin, 0.0);
    EXPECT_FALSE(p.budgets[1].fits);
    EXPECT_DOUBLE_EQ(p.budgets[1].margin, -1.0);
    EXPECT_FALSE(p.budgets[2].fits);
    EXPECT_DOUBLE_EQ(p.budgets[2].margin, -1.0);
    EXPECT_FALSE(p.budgets[3].fits);
    EXPECT_NEAR(p.budgets[3].margin, 0.2 - kLatency, 1e-12);
    EXPECT_FALSE(p.fits());
  }
  {
    ProfileOptions opt;
    opt.runtime = "reference";    // RAM 596
    opt.budgets[Resource::Ram] = 700;  // fits with the reference runtime (no im2col)
    opt.budgets[Resource::Macs] = 10000;
    Profile p = profile_graph(g, board, opt);
    ASSERT_EQ(p.budgets.size(), 3u);  // ram, flash (board), macs
    EXPECT_TRUE(p.budgets[0].fits);
    EXPECT_DOUBLE_EQ(p.budgets[0].margin, 104.0);  // 700 - 596
    EXPECT_EQ(p.budgets[1].source, "board");
    EXPECT_EQ(p.budgets[2].resource, Resource::Macs);
    EXPECT_DOUBLE_EQ(p.budgets[2].margin, 2768.0);
    EXPECT_TRUE(p.fits());
    EXPECT_NE(profile_table(p).find("the model fits"), std::string::npos);
  }
}

// ---- scratch rules and depthwise / lone-BN / pool figures ----------------------------
// input 8x8x4, then a chain (op k = IR node k+1):
//  0 pw    conv 1x1 valid, 8         -> 8x8x8  pointwise, no padding: scratch 0
//  1 c3    conv 3x3 valid, 4         -> 6x6x4  im2col 2*2*Cin(8)*9 = 288
//  2 dw3   depthwise 3x3 same (pad 1)-> 6x6x4  3x3 kernel, pad <= 1: 0
//  3 dw5   depthwise 5x5 same (pad 2)-> 6x6x4  optimised kernel: 2*C(4)*25 = 200
//  4 dwp2  depthwise 3x3 pad 2       -> 8x8x4  pad > 1: 2*4*9 = 72
//  5 dwm2  depthwise 3x3 valid, x2   -> 6x6x8  multiplier 2: generic kernel, 0
//  6 pws2  conv 1x1 stride 2 valid, 8-> 3x3x8  pointwise (any stride): 0
//  7 c1s   conv 1x1 same, 8          -> 3x3x8  1x1 "same" pads nothing: 0
//  8 c13   conv 1x3 same, 8          -> 3x3x8  padded left/right: 2*2*8*3 = 96
//  9 ap    avgpool 3/1 same          -> 3x3x8  int32 sums: 8*4 = 32 (cmsis only)
// 10 bn_ap batchnorm (lone)          -> 3x3x8  1x1 depthwise from a BN: 0
// 11 gap   global avgpool (MEAN)     -> 1x1x8  int32 accumulators 8*4 = 32 (both)
Graph scratch_graph() {
  GraphBuilder b("scratch", {8, 8, 4});
  int x = b.conv(0, 8, 1, 1, Padding::Valid, "pw");
  x = b.conv(x, 4, 3, 1, Padding::Valid, "c3");
  x = b.depthwise(x, 3, 1, Padding::Same, "dw3");
  x = b.depthwise(x, 5, 1, Padding::Same, "dw5");
  Node p2;
  p2.kind = OpKind::DepthwiseConv2D;
  p2.name = "dwp2";
  p2.inputs = {x};
  p2.kernel_h = p2.kernel_w = 3;
  p2.padding = Padding::Explicit;
  p2.pad_top = p2.pad_bottom = p2.pad_left = p2.pad_right = 2;
  x = b.append(p2);
  Node m2;
  m2.kind = OpKind::DepthwiseConv2D;
  m2.name = "dwm2";
  m2.inputs = {x};
  m2.kernel_h = m2.kernel_w = 3;
  m2.depth_multiplier = 2;
  m2.padding = Padding::Valid;
  x = b.append(m2);
  x = b.conv(x, 8, 1, 2, Padding::Valid, "pws2");
  x = b.conv(x, 8, 1, 1, Padding::Same, "c1s");
  x = b.conv_hw(x, 8, 1, 3, 1, 1, Padding::Same, "c13");
  x = b.avgpool(x, 3, 1, Padding::Same, "ap");
  x = b.batchnorm(x, "bn_ap");
  b.global_avgpool(x, "gap");
  return b.finish();
}

TEST(ExactCosts, ScratchRulesPerKernel) {
  Graph g = scratch_graph();
  Costs c = costs_of(g);
  const DeployedGraph& d = c.d;
  ASSERT_EQ(d.ops.size(), 12u);
  const std::vector<Shape> shapes = {{8, 8, 8}, {6, 6, 4}, {6, 6, 4}, {6, 6, 4},
                                     {8, 8, 4}, {6, 6, 8}, {3, 3, 8}, {3, 3, 8},
                                     {3, 3, 8}, {3, 3, 8}, {3, 3, 8}, {1, 1, 8}};
  for (size_t o = 0; o < shapes.size(); ++o)
    EXPECT_EQ(d.tensors[d.ops[o].output].shape, shapes[o]) << d.ops[o].name;
  EXPECT_EQ(d.ops[10].kind, DeployedKind::DepthwiseConv2D);
  EXPECT_EQ(d.ops[11].kind, DeployedKind::Mean);
  const I cmsis = {0, 288, 0, 200, 72, 0, 0, 0, 96, 32, 0, 32};
  const I ref = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32};
  I got_cmsis, got_ref;
  for (int o = 0; o < 12; ++o) {
    got_cmsis.push_back(op_costs(d, o, c.ch, find_runtime("cmsis-nn")).scratch_bytes);
    got_ref.push_back(op_costs(d, o, c.ch, find_runtime("reference")).scratch_bytes);
  }
  EXPECT_EQ(got_cmsis, cmsis);
  EXPECT_EQ(got_ref, ref);

  // Channel propagation: dwm2 doubles 4 -> 8 channels.
  EXPECT_EQ(c.ch[size_t(d.ops[5].output)], 8);

  const RuntimeProfile& rt = find_runtime("cmsis-nn");
  // dw3: C = 4, k = 9, 6x6 = 36 positions: params 4*(9+1) = 40;
  //   bytes 4*(9 + 4 + 2*12) + 2*32 = 148 + 64 = 212; MACs 4*9*36 = 1296; persistent 32.
  OpCosts<int64_t> dw3 = op_costs(d, 2, c.ch, rt);
  EXPECT_EQ(dw3.params, 40);
  EXPECT_EQ(dw3.weight_bytes, 212);
  EXPECT_EQ(dw3.macs, 1296);
  EXPECT_EQ(dw3.persistent_bytes, 32);
  // dwm2: C_out = 8: params 8*10 = 80; bytes 8*37 + 64 = 360; MACs 8*9*36 = 2592.
  OpCosts<int64_t> dwm2 = op_costs(d, 5, c.ch, rt);
  EXPECT_EQ(dwm2.params, 80);
  EXPECT_EQ(dwm2.weight_bytes, 360);
  EXPECT_EQ(dwm2.macs, 2592);
  // pws2: 8*8*1*9 = 576 MACs.  c13: 8*8*3 weights + 8 = 200 params, 8*8*3*9 = 1728 MACs.
  EXPECT_EQ(op_costs(d, 6, c.ch, rt).macs, 576);
  EXPECT_EQ(op_costs(d, 8, c.ch, rt).params, 200);
  EXPECT_EQ(op_costs(d, 8, c.ch, rt).macs, 1728);
  // ap: element ops C*k*out_hw = 8*9*9 = 648.
  EXPECT_EQ(op_costs(d, 9, c.ch, rt).element_ops, 648);
  // bn_ap as a 1x1 depthwise: params 8*(1+1) = 16; bytes 8*(1+4+24) + 64 = 296;
  //   MACs 8*1*9 = 72; persistent 64.
  OpCosts<int64_t> bn = op_costs(d, 10, c.ch, rt);
  EXPECT_EQ(bn.params, 16);
  EXPECT_EQ(bn.weight_bytes, 296);
  EXPECT_EQ(bn.macs, 72);
  EXPECT_EQ(bn.persistent_bytes, 64);
  // gap (MEAN): element ops Cin * in_hw = 8*9 = 72.
  EXPECT_EQ(op_costs(d, 11, c.ch, rt).element_ops, 72);
}

TEST(ExactCosts, ElementOpsOfAddConcatAndActivation) {
  // input 4x4x2; a, c = conv 1x1 (2); s = add(a, c, input) (three inputs);
  // k = concat(a, s) -> 4x4x4; r = relu(k) (a concat cannot take a fused activation).
  GraphBuilder b("eltwise", {4, 4, 2});
  int a = b.conv(0, 2, 1, 1, Padding::Valid, "a");
  int c = b.conv(0, 2, 1, 1, Padding::Valid, "c");
  int s = b.add({a, c, 0}, "s");
  int k = b.concat({a, s}, "k");
  b.relu(k, "r");
  Graph g = b.finish();
  Costs cs = costs_of(g);
  ASSERT_EQ(cs.d.ops.size(), 5u);
  const RuntimeProfile& rt = find_runtime("cmsis-nn");
  // add: C * hw * (inputs - 1) = 2*16*2 = 64; concat: 4*16 = 64 copies; relu: 4*16 = 64.
  EXPECT_EQ(op_costs(cs.d, 2, cs.ch, rt).element_ops, 64);
  EXPECT_EQ(op_costs(cs.d, 3, cs.ch, rt).element_ops, 64);
  EXPECT_EQ(op_costs(cs.d, 4, cs.ch, rt).element_ops, 64);
  EXPECT_EQ(cs.ch[size_t(cs.d.ops[3].output)], 4);  // 2 + 2 channels
  // Latency of the add on f446re: 64 * 7.8 + 6500 = 6999.2 cycles.
  GraphCosts<int64_t> gc = graph_costs(cs.d, cs.ch, rt, find_board("nucleo-f446re"));
  EXPECT_NEAR(gc.op_latency_ms[2], 6999.2 / 180e3, 1e-12);
}

// The audio front end in the resource model: its tables in flash, its scratch in RAM for the
// whole run, its int16 clip as the input tensor, no MACs.
TEST(ExactCosts, TheMfccFrontEndIsCounted) {
  MfccParams p;
  GraphBuilder b("kws", {1, 16000, 1});
  int x = b.mfcc(b.input(), p);
  b.dense(b.flatten(x), 12);
  Graph g = b.finish();
  const DeployedGraph d = deploy_view(g);
  ASSERT_EQ(d.ops[0].kind, DeployedKind::FrontEnd);
  EXPECT_EQ(d.tensors[size_t(d.input_tensor)].bytes(), 32000);
  const RuntimeProfile rt = find_runtime("mcuprune");
  const auto ch = exact_free_channels(d);
  const GraphCosts<int64_t> c = graph_costs(d, propagate_channels(d, ch), rt, find_board("nucleo-f446re"));
  const MfccDeviceTables t = mfcc_device_tables(p);
  EXPECT_EQ(c.ops[0].weight_bytes, t.flash_bytes() + kMfccParamsBytes);
  EXPECT_EQ(c.ops[0].persistent_bytes, int64_t(4 * (512 + 1 + 40 + 10)));
  EXPECT_EQ(c.ops[0].macs, 0);
  EXPECT_EQ(c.ops[0].element_ops, mfcc_multiplies(p));
  EXPECT_EQ(c.tensor_bytes[size_t(d.input_tensor)], 32000);
  // The tables hold every nonzero mel weight once.
  const std::vector<double> m = mel_weight_matrix(p);
  EXPECT_EQ(int64_t(t.band_weights.size()), std::count_if(m.begin(), m.end(), [](double v) { return v > 0; }));
  // Without the front end (the TFLite view) the input is the features.
  DeployOptions no_fe;
  no_fe.front_end = false;
  const DeployedGraph f = deploy_view(g, no_fe);
  EXPECT_EQ(f.tensors[size_t(f.input_tensor)].bytes(), 490);
  EXPECT_NE(f.ops[0].kind, DeployedKind::FrontEnd);
}

}  // namespace
}  // namespace mcuprune
