// ONNX import: our own float ONNX export of every zoo model (unpruned, pruned) and of a
// concat/residual/depthwise model re-imports to a graph that computes the same function with
// the same parameters; malformed input gives clear errors.
#include <gtest/gtest.h>

#include <random>

#include "common/expect_error.h"
#include "export/fixtures.h"
#include "export/onnx.h"
#include "export/onnx_import.h"

namespace mcuprune {
namespace {

TEST(OnnxImport, OwnExportRoundTripsEveryModel) {
  const auto images = test::fashion_images(test::fashion().test, 0, 3);
  for (const test::ExportCase& c : test::export_cases()) {
    SCOPED_TRACE(c.label);
    const std::string bytes = export_onnx_float(c.folded);
    ImportedOnnx imp = import_onnx(bytes, c.label + ".onnx");
    EXPECT_EQ(imp.graph.input_shape().str(), c.folded.graph.input_shape().str());
    EXPECT_EQ(graph_params(imp.graph), graph_params(c.folded.graph));
    for (const auto& x : images) {
      auto want = float_forward(c.folded.graph, c.folded.weights, x)[size_t(c.folded.graph.output)];
      auto got = float_forward(imp.graph, imp.weights, x)[size_t(imp.graph.output)];
      ASSERT_EQ(got.size(), want.size());
      for (size_t k = 0; k < want.size(); ++k) EXPECT_NEAR(got[k], want[k], 1e-4 * (1 + std::fabs(want[k]))) << k;
    }
  }
}

TEST(OnnxImport, MalformedFilesAreClearErrors) {
  std::string msg = test::user_error_of([] { import_onnx("", "empty.onnx"); });
  EXPECT_NE(msg.find("empty.onnx: not a valid ONNX model"), std::string::npos) << msg;
  const std::string good = export_onnx_float(test::export_cases()[0].folded);
  msg = test::user_error_of([&] { import_onnx(good.substr(0, good.size() / 2), "half.onnx"); });
  EXPECT_NE(msg.find("half.onnx"), std::string::npos) << msg;
  msg = test::user_error_of([] { import_onnx("this is not protobuf at all \x01\x02", "junk.onnx"); });
  EXPECT_NE(msg.find("junk.onnx"), std::string::npos) << msg;
}

}  // namespace
}  // namespace mcuprune
