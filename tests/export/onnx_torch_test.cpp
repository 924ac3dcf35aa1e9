// ONNX import of models made by real PyTorch (tests/fixtures/make_onnx.py, run here with
// Debian's python3-torch): a small MobileNetV2, a ResNet with 1x1 shortcuts, concat
// branches with a view() flatten and softmax, an MLP head after an NCHW Flatten of a 7x7 map,
// a model whose BatchNorm is not folded (opsets 11 to 17), a ResNet stem with a padded max
// pool, a DS-CNN (10x4 stride-2 conv padded (4, 1), F.pad) and ReLU6 written three ways with
// constant folding off (Clip bounds and pads computed from constants at import). Our forward of each imported
// model must equal PyTorch's output and onnxruntime's; parameters and MACs must equal a count
// made in PyTorch; a pruned import's ONNX export keeps the original names and runs in
// onnxruntime as our forward of the pruned model does.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include <onnx/onnx_pb.h>

#include <map>
#include <random>

#include "common/ort_compare.h"
#include "common/random_model.h"
#include "export/tflite_check.h"
#include "export/onnx.h"
#include "export/onnx_import.h"
#include "graph/io.h"
#include "quant/fold.h"
#include "quant/quantize.h"
#include "resources/board.h"
#include "resources/profile.h"

namespace mcuprune {
namespace {

namespace fs = std::filesystem;

// Removes the fixture directory when the test program ends.
struct Cleanup {
  fs::path dir;
  ~Cleanup() {
    std::error_code ec;
    fs::remove_all(dir, ec);
    fs::remove(dir.string() + ".log", ec);
  }
};

const fs::path& fixtures() {
  static Cleanup cleanup;
  static const fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("mcuprune_onnx_fixtures_" + std::to_string(::getpid()));
    const std::string cmd = "/usr/bin/python3 " + std::string(MCUPRUNE_SOURCE_DIR) + "/tests/fixtures/make_onnx.py " +
                            d.string() + " > " + d.string() + ".log 2>&1";
    if (std::system(cmd.c_str()) != 0) ADD_FAILURE() << "the fixture script failed; see " << d.string() << ".log";
    cleanup.dir = d;
    return d;
  }();
  return dir;
}

std::vector<float> read_floats(const fs::path& p) {
  std::string b = read_file(p.string());
  std::vector<float> v(b.size() / 4);
  std::memcpy(v.data(), b.data(), v.size() * 4);
  return v;
}

class TorchOnnx : public ::testing::TestWithParam<const char*> {};

TEST_P(TorchOnnx, ImportComputesWhatPyTorchComputes) {
  const std::string name = GetParam();
  const fs::path base = fixtures() / name;
  ImportedOnnx imp = import_onnx(read_file(base.string() + ".onnx"), name + ".onnx");
  const nlohmann::json meta = nlohmann::json::parse(read_file(base.string() + ".json"));
  // NCHW input -> the IR's HWC.
  const std::vector<float> x_nchw = read_floats(base.string() + ".input.bin");
  const Shape in = imp.graph.input_shape();
  ASSERT_EQ(int64_t(x_nchw.size()), in.elements());
  std::vector<float> x(x_nchw.size());
  for (int c = 0; c < in.c; ++c)
    for (int p = 0; p < in.h * in.w; ++p) x[size_t(p * in.c + c)] = x_nchw[size_t(c * in.h * in.w + p)];
  const std::vector<float> want = read_floats(base.string() + ".output.bin");
  FoldedModel f = fold_for_inference(imp.graph, imp.weights);
  const auto got = float_forward(f.graph, f.weights, x)[size_t(f.graph.output)];
  ASSERT_EQ(got.size(), want.size());
  for (size_t k = 0; k < want.size(); ++k) EXPECT_NEAR(got[k], want[k], 1e-4 * (1 + std::fabs(want[k]))) << "output " << k;
  EXPECT_EQ(graph_params(imp.graph), meta["params"].get<int64_t>());
  const Profile p = profile_graph(imp.graph, find_board("nucleo-f446re"), ProfileOptions{});
  EXPECT_EQ(p.macs, meta["macs"].get<int64_t>());
}

// onnxruntime-node on the original file computes what our forward of the import computes;
// a randomly pruned import exports to ONNX with the original input and output names, and
// onnxruntime on that export computes what our forward of the pruned model computes.
TEST_P(TorchOnnx, OnnxRuntimeAgreesOnTheOriginalAndThePrunedExport) {
  const std::string name = GetParam();
  const fs::path base = fixtures() / name;
  const std::string bytes = read_file(base.string() + ".onnx");
  ImportedOnnx imp = import_onnx(bytes, name + ".onnx");
  const nlohmann::json meta = nlohmann::json::parse(read_file(base.string() + ".json"));
  EXPECT_EQ(imp.graph.onnx_io.input, meta["input_name"].get<std::string>());
  EXPECT_EQ(imp.graph.onnx_io.output, meta["output_name"].get<std::string>());
  EXPECT_FALSE(imp.graph.onnx_io.input_nhwc);
  const Shape in = imp.graph.input_shape();
  std::mt19937_64 rng(11);
  std::normal_distribution<float> nd;
  std::vector<std::vector<float>> xs(2, std::vector<float>(size_t(in.elements())));
  for (auto& x : xs)
    for (float& v : x) v = nd(rng);
  auto check = [&](const FoldedModel& f, const std::string& model_bytes, const std::string& what) {
    test::expect_same_as_onnxruntime(f, model_bytes, xs, imp.graph.onnx_io.output, false, what);
  };
  check(fold_for_inference(imp.graph, imp.weights), bytes, "original");

  WeightMap w = imp.weights;
  const Graph pruned = test::prune_randomly(imp.graph, w, rng);
  ASSERT_LT(graph_params(pruned), graph_params(imp.graph));
  EXPECT_EQ(pruned.onnx_io.input, imp.graph.onnx_io.input);
  const FoldedModel pf = fold_for_inference(pruned, w);
  const std::string exported = export_onnx_float(pf);
  ONNX_NAMESPACE::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(exported));
  ASSERT_EQ(m.graph().input_size(), 1);
  ASSERT_EQ(m.graph().output_size(), 1);
  EXPECT_EQ(m.graph().input(0).name(), meta["input_name"].get<std::string>());
  EXPECT_EQ(m.graph().output(0).name(), meta["output_name"].get<std::string>());
  check(pf, exported, "pruned export");
  // The int8 (QDQ) export keeps the names too.
  ONNX_NAMESPACE::ModelProto q;
  ASSERT_TRUE(q.ParseFromString(export_onnx_qdq(quantize_model(pf, {xs[0], xs[1]}))));
  EXPECT_EQ(q.graph().input(0).name(), meta["input_name"].get<std::string>());
  EXPECT_EQ(q.graph().output(0).name(), meta["output_name"].get<std::string>());
}

// Imported, int8-quantised, exported to TFLite in a TFLM runtime's order and run by Arm NN:
// every operator as the integer reference (tflite_check.h). The PADs expected are the
// convolutions and max pools whose padding SAME cannot express: stride-2 3x3 convs padded 1
// on even inputs (MobileNetV2's stem and first stride-2 depthwise; the 7x7 one is SAME),
// ResNet's stride-2 convs and stem max pool, DS-CNN's 10x4 conv padded (4, 1) and its F.pad.
TEST_P(TorchOnnx, Int8TfliteRunsInArmnnAsTheIntegerReference) {
  const std::map<std::string, int> pads = {{"mobilenetv2_small", 2}, {"resnet_small", 1}, {"concatnet", 1},
                                           {"mlp_head", 0},          {"bn_not_folded", 1}, {"resnet_stem", 3},
                                           {"dscnn", 2},             {"relu6_three_ways", 1}};
  const std::string name = GetParam();
  const fs::path base = fixtures() / name;
  ImportedOnnx imp = import_onnx(read_file(base.string() + ".onnx"), name + ".onnx");
  imp.graph.name = name;  // for the printed summary (PyTorch names every graph torch_jit)
  const Shape in = imp.graph.input_shape();
  const std::vector<float> x_nchw = read_floats(base.string() + ".input.bin");
  std::vector<std::vector<float>> samples(1, std::vector<float>(x_nchw.size()));
  for (int c = 0; c < in.c; ++c)
    for (int p = 0; p < in.h * in.w; ++p) samples[0][size_t(p * in.c + c)] = x_nchw[size_t(c * in.h * in.w + p)];
  std::mt19937_64 rng(17);
  std::normal_distribution<float> nd;
  for (int k = 0; k < 5; ++k) {
    samples.emplace_back(size_t(in.elements()));
    for (float& v : samples.back()) v = nd(rng);
  }
  for (const char* runtime : {"tflm", "tflm-cmsis-nn"}) {
    SCOPED_TRACE(runtime);
    EXPECT_EQ(test::expect_tflite_runs_as_the_reference(imp.graph, imp.weights, samples, runtime), pads.at(name));
  }
}

// torch.clamp(x, 0, 6) (Clip of Cast(Constant) without constant folding), F.hardtanh(x, 0, 6)
// and F.relu6 (Relu, then Clip) all import as ReLU6.
TEST(TorchOnnxRelu6, ClampHardtanhAndRelu6AreRelu6) {
  const fs::path base = fixtures() / "relu6_three_ways";
  ImportedOnnx imp = import_onnx(read_file(base.string() + ".onnx"), "relu6_three_ways.onnx");
  int relu6 = 0, relu = 0;
  for (const Node& n : imp.graph.nodes) relu6 += n.kind == OpKind::ReLU6, relu += n.kind == OpKind::ReLU;
  EXPECT_EQ(relu6, 3);
  EXPECT_EQ(relu, 1);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TorchOnnx,
                         ::testing::Values("mobilenetv2_small", "resnet_small", "concatnet", "mlp_head", "bn_not_folded",
                                           "resnet_stem", "dscnn", "relu6_three_ways"));

}  // namespace
}  // namespace mcuprune
