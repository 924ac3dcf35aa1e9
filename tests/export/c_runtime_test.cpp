// The C export and the runtime, end to end on the host: every zoo model (unpruned and
// randomly pruned) and a concat/residual/depthwise model is exported with export_c, built
// by the system C compiler with the deployment harness (portable kernels, and the DSP path
// through its emulated intrinsics) and run on real Fashion-MNIST images; every output must
// equal the integer reference's. The arena planner must reach the resource model's peak on
// those models and on random DAGs, and never let two live tensors share a byte.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/random_graph.h"
#include "export/c_source.h"
#include "export/embedded.h"
#include "export/fixtures.h"
#include "export/plan.h"
#include "graph/io.h"
#include "resources/formulas.h"
#include "resources/memory.h"
#include "resources/patch.h"
#include "resources/profile.h"

namespace mcuprune {
namespace {

namespace fs = std::filesystem;

void expect_no_overlap(const MemoryPlan& p) {
  for (size_t a = 0; a < p.tensors.size(); ++a)
    for (size_t b = a + 1; b < p.tensors.size(); ++b) {
      const PlannedTensor &x = p.tensors[a], &y = p.tensors[b];
      const bool live_together = x.first <= y.last && y.first <= x.last;
      const bool bytes_shared = x.offset < y.offset + y.bytes && y.offset < x.offset + x.bytes;
      EXPECT_FALSE(live_together && bytes_shared) << x.name << " and " << y.name;
      EXPECT_LE(x.offset + x.bytes, p.arena_bytes);
    }
}

TEST(MemoryPlan, ArenaEqualsThePeakOnRandomDags) {
  std::mt19937 rng(7u);
  for (int gi = 0; gi < 200 && !HasFailure(); ++gi) {
    Graph g = test::random_graph(rng, gi);
    DeployedGraph d = deploy_view(g);
    std::vector<int64_t> bytes;
    for (const auto& t : d.tensors) bytes.push_back(t.bytes());
    const MemorySchedule s = schedule_optimal(d, bytes, std::vector<int64_t>(d.ops.size(), 0), false);
    const MemoryPlan p = plan_memory(d, s.order);
    SCOPED_TRACE("graph " + std::to_string(gi));
    EXPECT_EQ(p.predicted_peak_bytes, s.peak_bytes);
    EXPECT_EQ(p.arena_bytes, p.predicted_peak_bytes) << memory_plan_table(p);
    expect_no_overlap(p);
  }
}

// The largest sum of the bytes of the buffers live at one step, from the plan's own
// lifetimes: what any placement needs, independent of the resource model's figure.
int64_t live_peak(const MemoryPlan& p) {
  int64_t peak = 0;
  for (int s = 0; s < int(p.order.size()); ++s) {
    int64_t live = 0;
    for (const PlannedTensor& t : p.tensors) live += t.first <= s && s <= t.last ? t.bytes : 0;
    peak = std::max(peak, live);
  }
  return peak;
}

int run(const std::string& cmd) { return std::system(cmd.c_str()); }

// Writes the export and the harness to dir and builds dir/model_<variant>.
bool build(const CSource& src, const fs::path& dir, bool dsp, std::string& binary) {
  for (const auto& [name, content] : src.files) write_file_atomic((dir / "model" / name).string(), content);
  for (const EmbeddedFile& e : embedded_firmware_files()) write_file_atomic((dir / "app" / e.path).string(), e.content);
  binary = (dir / (dsp ? "model_dsp" : "model_portable")).string();
  const std::string m = (dir / "model").string(), a = (dir / "app").string();
  const std::string cmd = "cc -std=c99 -O1 -ffp-contract=off -Wall -Werror -DMP_COUNT_MACS" +
                          std::string(dsp ? " -DMP_EMULATE_DSP" : "") +
                          " -I" + m + " -I" + m + "/mcuprune_rt -I" + a + " " + m + "/model.c " + m + "/mcuprune_rt/*.c " +
                          m + "/mcuprune_rt/kernels/*.c " + a + "/main.c " + a + "/platform_host.c -lm -o " + binary;
  return run(cmd + " > " + (dir / "cc.log").string() + " 2>&1") == 0;
}

// Builds src with the host harness, runs it on `inputs` (quantised) and expects q's integer
// reference outputs bit for bit, on the portable path and (if `dsp`) the DSP path too.
// `macs`: the MACs per inference the resource model predicts; the runtime's count
// (MP_COUNT_MACS) must equal it.
void expect_bit_exact(const CSource& src, const QuantizedModel& q, const std::vector<std::vector<int8_t>>& inputs,
                      const std::string& tag, int64_t macs, bool both_paths = true) {
  EXPECT_EQ(src.plan.arena_bytes, src.plan.predicted_peak_bytes) << memory_plan_table(src.plan);
  expect_no_overlap(src.plan);
  const fs::path dir = fs::temp_directory_path() / ("mcuprune_c_" + std::to_string(::getpid()) + "_" + tag);
  fs::remove_all(dir);
  std::string in(4, '\0');
  const int32_t n = int32_t(inputs.size());
  std::memcpy(in.data(), &n, 4);
  std::vector<std::vector<int8_t>> ref;
  const Int8Interpreter interp(q);
  for (const auto& xq : inputs) {
    in.append(reinterpret_cast<const char*>(xq.data()), xq.size());
    ref.push_back(interp.forward(xq)[size_t(q.graph.output)]);
  }
  write_file_atomic((dir / "inputs.bin").string(), in);
  for (bool dsp : both_paths ? std::vector<bool>{false, true} : std::vector<bool>{true}) {
    SCOPED_TRACE(dsp ? "dsp path (emulated intrinsics)" : "portable path");
    std::string binary;
    ASSERT_TRUE(build(src, dir, dsp, binary)) << "see " << (dir / "cc.log");
    ASSERT_EQ(run("cd " + dir.string() + " && " + binary + " > run.log"), 0);
    std::ifstream f(dir / "outputs.bin", std::ios::binary);
    std::string out((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    ASSERT_EQ(out.size(), ref.size() * ref[0].size());
    for (size_t k = 0; k < ref.size(); ++k)
      for (size_t j = 0; j < ref[k].size(); ++j)
        ASSERT_EQ(int(int8_t(out[k * ref[k].size() + j])), int(ref[k][j])) << "sample " << k << " output " << j;
    std::ifstream mf(dir / "macs.bin", std::ios::binary);
    int64_t counted = -1;
    mf.read(reinterpret_cast<char*>(&counted), sizeof counted);
    EXPECT_EQ(counted, macs * int64_t(inputs.size())) << "MACs the runtime ran over " << inputs.size() << " inferences";
  }
  fs::remove_all(dir);
}

std::vector<std::vector<int8_t>> quantized_images(const QuantizedModel& q, size_t n) {
  std::vector<std::vector<int8_t>> r;
  for (const auto& x : test::fashion_images(test::fashion().test, 0, n)) r.push_back(test::quantize_input(q, x));
  return r;
}

TEST(CRuntime, BitExactWithTheReferenceOnEveryModelBothPaths) {
  for (const test::ExportCase& c : test::export_cases()) {
    SCOPED_TRACE(c.label);
    const CSource src = export_c(c.q, "test " + c.label);
    EXPECT_FALSE(src.patch);
    ProfileOptions po;
    po.runtime = "mcuprune";
    const int64_t macs = profile_graph(c.q.graph, find_board("nucleo-f446re"), po).macs;
    expect_bit_exact(src, c.q, quantized_images(c.q, 6), std::to_string(&c - &test::export_cases()[0]), macs);
  }
}

// Every zoo model with its first stage in patches: the auto plan, a grid with window copies at
// the first valid cut and one column of row bands (in place) at the last. The arena reaches the plan's peak, the profile predicts it, and the outputs equal
// layer-by-layer execution's bit for bit.
TEST(CRuntime, PatchPlansAreBitExactAndTheArenaIsThePlansPeak) {
  int plans = 0, copied = 0;
  for (const test::ExportCase& c : test::export_cases()) {
    const DeployedGraph d = deploy_view(c.q.graph);
    const int64_t layer_constants = export_c(c.q, "test").constant_bytes;
    std::vector<std::string> specs = {"auto"};
    std::vector<int> cuts;
    for (size_t t = 0; t < d.tensors.size(); ++t)
      if (patch_cut_problem(d, int(t)).empty()) cuts.push_back(int(t));
    if (!cuts.empty()) {
      // The first cut with copied windows, the last one in row bands.
      const Shape &first = d.tensors[size_t(cuts.front())].shape, &last = d.tensors[size_t(cuts.back())].shape;
      specs.push_back(std::to_string(std::min(2, first.h)) + "x" + std::to_string(std::min(3, first.w)) + "@" +
                      d.tensors[size_t(cuts.front())].name);
      specs.push_back(std::to_string(std::min(3, last.h)) + "x1@" + d.tensors[size_t(cuts.back())].name);
    }
    for (const std::string& spec : specs) {
      SCOPED_TRACE(c.label + " --patch " + spec);
      CSourceOptions o;
      o.patch = spec;
      const CSource src = export_c(c.q, "test " + c.label, o);
      if (!src.patch) {
        EXPECT_EQ(spec, "auto");
        EXPECT_FALSE(src.patch_note.empty());
        continue;
      }
      ProfileOptions po;
      po.runtime = "mcuprune";
      po.patch = spec;
      const Profile p = profile_graph(c.q.graph, find_board("nucleo-f446re"), po);
      ASSERT_TRUE(p.patch);
      EXPECT_EQ(src.plan.predicted_peak_bytes, p.ram_bytes());
      EXPECT_EQ(live_peak(src.plan), src.patch->peak_bytes);  // the planned lifetimes are the model's
      EXPECT_NE(src.files.at("model.c").find("&model_patch"), std::string::npos);
      EXPECT_EQ(src.constant_bytes - layer_constants, src.patch->table_bytes);  // the flash model's plan tables
      ++plans;
      copied += src.patch->geometry.copy_windows();
      expect_bit_exact(src, c.q, quantized_images(c.q, 3),
                       "patch_" + std::to_string(&c - &test::export_cases()[0]) + "_" + std::to_string(plans), p.macs,
                       /*both_paths=*/src.patch->geometry.copy_windows());
    }
  }
  EXPECT_GT(plans, 20);
  EXPECT_GT(copied, 8);
}

// Random stages (strides 1 and 2, kernels 1/3/5, same and valid padding, pools, depthwise
// convs, residual adds and concats inside the stage, odd sizes) with random grids up to 8x8:
// the C runtime's patch execution equals the integer reference (layer by layer).
TEST(CRuntime, PatchExecutionEqualsTheReferenceOnRandomStages) {
  std::mt19937 rng(1203);
  std::mt19937_64 wrng(12);
  int plans = 0;
  for (int trial = 0; trial < 40 && plans < 14 && !HasFailure(); ++trial) {
    Graph g = test::random_spatial_graph(rng);
    g.infer_shapes();
    WeightMap w = test::random_weights(g, wrng, true);
    const FoldedModel f = fold_for_inference(g, w);
    const Shape is = g.input_shape();
    std::vector<std::vector<float>> calib;
    std::uniform_real_distribution<float> u(-2.f, 2.f);
    for (int k = 0; k < 8; ++k) {
      std::vector<float> x(size_t(is.h) * is.w * is.c);
      for (float& v : x) v = u(wrng);
      calib.push_back(x);
    }
    const QuantizedModel q = quantize_model(f, calib);
    const DeployedGraph d = deploy_view(q.graph);
    std::vector<int> cuts;
    for (size_t t = 0; t < d.tensors.size(); ++t)
      if (patch_cut_problem(d, int(t)).empty()) cuts.push_back(int(t));
    if (cuts.empty()) continue;
    const int t = cuts[rng() % cuts.size()];
    const Shape& cs = d.tensors[size_t(t)].shape;
    CSourceOptions o;
    o.patch = std::to_string(1 + int(rng() % uint32_t(std::min(8, cs.h)))) + "x" +
              std::to_string(1 + int(rng() % uint32_t(std::min(8, cs.w)))) + "@" +
              d.tensors[size_t(t)].name;
    SCOPED_TRACE("trial " + std::to_string(trial) + " --patch " + o.patch);
    const CSource src = export_c(q, "random stage", o);
    ASSERT_TRUE(src.patch);
    std::vector<std::vector<int8_t>> inputs;
    for (const auto& x : calib) inputs.push_back(test::quantize_input(q, x));
    inputs.resize(4);
    expect_bit_exact(src, q, inputs, "random_" + std::to_string(trial), src.patch->macs, /*both_paths=*/trial % 2 == 0);
    ++plans;
  }
  EXPECT_GE(plans, 14);
}

// The planner on patch plans of random graphs: the arena reaches the plan's peak and no two
// buffers live at the same step share a byte.
TEST(MemoryPlan, PatchedArenaEqualsThePlansPeakOnRandomStages) {
  std::mt19937 rng(77);
  int plans = 0, reached = 0;
  for (int trial = 0; trial < 80; ++trial) {
    Graph g = test::random_spatial_graph(rng);
    g.infer_shapes();
    const DeployedGraph d = deploy_view(g);
    for (size_t t = 0; t < d.tensors.size(); ++t) {
      if (!patch_cut_problem(d, int(t)).empty()) continue;
      const Shape& cs = d.tensors[t].shape;
      const PatchGeometry geo = patch_geometry(d, int(t), 1 + int(rng() % uint32_t(std::min(8, cs.h))),
                                               1 + int(rng() % uint32_t(std::min(8, cs.w))));
      const RuntimeProfile& rt = find_runtime("mcuprune");
      const Board board = find_board("nucleo-f446re");
      const PatchFigures f = patch_figures(d, geo, rt, board, false);
      std::vector<int64_t> scratch;  // the conv kernels' im2col scratch, planned with the buffers
      for (const auto& c : graph_costs(d, propagate_channels(d, exact_free_channels(d)), rt, board).ops)
        scratch.push_back(c.scratch_bytes);
      const MemoryPlan p = plan_memory_patched(d, f, scratch);
      SCOPED_TRACE("trial " + std::to_string(trial) + ", cut " + d.tensors[t].name);
      EXPECT_EQ(live_peak(p), f.peak_bytes);  // the planned lifetimes are the model's
      EXPECT_GE(p.arena_bytes, p.predicted_peak_bytes);
      expect_no_overlap(p);
      reached += p.arena_bytes == p.predicted_peak_bytes;
      ++plans;
    }
  }
  EXPECT_GT(plans, 100);
  EXPECT_EQ(reached, plans);
}

TEST(CRuntime, ExportRefusesWhatTheRuntimeCannotRun) {
  GraphBuilder b("wide_add", {4, 4, 2});
  std::vector<int> branches;
  for (int k = 0; k < 9; ++k) branches.push_back(b.conv(b.input(), 2, 1, 1, Padding::Same));
  b.add(branches, "sum9");
  Graph g = b.finish();
  std::mt19937_64 rng(1);
  WeightMap w = test::random_weights(g, rng, true);
  FoldedModel f = fold_for_inference(g, w);
  QuantizedModel q = quantize_model(f, {std::vector<float>(32, 0.5f)});
  try {
    export_c(q, "x");
    FAIL() << "a 9-input add was exported";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("sum9 (add): 9 inputs"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mcuprune
