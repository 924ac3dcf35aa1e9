// ONNX import of models made by real PyTorch (tests/fixtures/make_onnx.py, run here with
// Debian's python3-torch): a small MobileNetV2, a ResNet with 1x1 shortcuts, concat
// branches with a view() flatten and softmax, an MLP head after an NCHW Flatten of a 7x7 map,
// and a model whose BatchNorm is not folded. Our forward of each imported model must equal
// PyTorch's output; parameters and MACs must equal a count made in PyTorch.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

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

INSTANTIATE_TEST_SUITE_P(Fixtures, TorchOnnx,
                         ::testing::Values("mobilenetv2_small", "resnet_small", "concatnet", "mlp_head", "bn_not_folded"));

}  // namespace
}  // namespace mcuprune
