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
#include "resources/memory.h"

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

int run(const std::string& cmd) { return std::system(cmd.c_str()); }

// Writes the export and the harness to dir and builds dir/model_<variant>.
bool build(const CSource& src, const fs::path& dir, bool dsp, std::string& binary) {
  for (const auto& [name, content] : src.files) write_file_atomic((dir / "model" / name).string(), content);
  for (const EmbeddedFile& e : embedded_firmware_files()) write_file_atomic((dir / "app" / e.path).string(), e.content);
  binary = (dir / (dsp ? "model_dsp" : "model_portable")).string();
  const std::string m = (dir / "model").string(), a = (dir / "app").string();
  const std::string cmd = "cc -std=c99 -O1 -ffp-contract=off -Wall -Werror" + std::string(dsp ? " -DMP_EMULATE_DSP" : "") +
                          " -I" + m + " -I" + m + "/mcuprune_rt -I" + a + " " + m + "/model.c " + m + "/mcuprune_rt/*.c " +
                          m + "/mcuprune_rt/kernels/*.c " + a + "/main.c " + a + "/platform_host.c -lm -o " + binary;
  return run(cmd + " > " + (dir / "cc.log").string() + " 2>&1") == 0;
}

TEST(CRuntime, BitExactWithTheReferenceOnEveryModelBothPaths) {
  const auto images = test::fashion_images(test::fashion().test, 0, 6);
  for (const test::ExportCase& c : test::export_cases()) {
    SCOPED_TRACE(c.label);
    const CSource src = export_c(c.q, "test " + c.label);
    EXPECT_EQ(src.plan.arena_bytes, src.plan.predicted_peak_bytes) << memory_plan_table(src.plan);
    expect_no_overlap(src.plan);
    const fs::path dir = fs::temp_directory_path() / ("mcuprune_c_" + std::to_string(::getpid()) + "_" +
                                                      std::to_string(&c - &test::export_cases()[0]));
    fs::remove_all(dir);
    // Inputs and reference outputs.
    std::string inputs(4, '\0');
    const int32_t n = int32_t(images.size());
    std::memcpy(inputs.data(), &n, 4);
    std::vector<std::vector<int8_t>> ref;
    const Int8Interpreter interp(c.q);
    for (const auto& x : images) {
      std::vector<int8_t> xq;
      for (float v : x) xq.push_back(c.q.activations[0].quantize(v));
      inputs.append(reinterpret_cast<const char*>(xq.data()), xq.size());
      ref.push_back(interp.forward(xq)[size_t(c.q.graph.output)]);
    }
    write_file_atomic((dir / "inputs.bin").string(), inputs);
    for (bool dsp : {false, true}) {
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
    }
    fs::remove_all(dir);
  }
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
