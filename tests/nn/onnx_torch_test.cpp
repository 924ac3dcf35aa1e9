// The float ONNX export, run by onnxruntime-node, computes what the LibTorch network the
// model was trained as computes (eval mode, BatchNorm unfolded there) to 1e-4.
#include <gtest/gtest.h>

#include "common/ort_runner.h"
#include "export/fixtures.h"
#include "export/onnx.h"
#include "nn/net.h"

namespace mcuprune {
namespace {

TEST(OnnxTorch, FloatExportMatchesLibTorchForward) {
  auto inputs = test::fashion_images(test::fashion().test, 0, 3);
  for (const auto& c : test::export_cases()) {
    SCOPED_TRACE(c.label);
    Net net(c.graph);
    net->load_weight_map(c.weights, c.label);
    net->eval();
    const Shape& in = c.graph.input_shape();
    std::vector<float> batch;
    for (const auto& x : inputs) {
      auto chw = test::to_nchw(x, in);
      batch.insert(batch.end(), chw.begin(), chw.end());
    }
    torch::NoGradGuard ng;
    torch::Tensor y = net->forward(torch::from_blob(batch.data(), {int64_t(inputs.size()), in.c, in.h, in.w}).clone(),
                                   /*logits=*/false)
                          .contiguous();
    auto res = test::run_onnx(export_onnx_float(c.folded), in, inputs);
    const int64_t per = y.numel() / int64_t(inputs.size());
    double worst = 0;
    for (size_t s = 0; s < inputs.size(); ++s) {
      const auto& got = res[s].at(c.folded.graph.nodes[size_t(c.folded.graph.output)].name);
      ASSERT_EQ(int64_t(got.size()), per);
      for (int64_t k = 0; k < per; ++k) {
        double ref = y.data_ptr<float>()[int64_t(s) * per + k];
        worst = std::max(worst, std::fabs(got[size_t(k)] - ref) / std::max(1.0, std::fabs(ref)));
      }
    }
    EXPECT_LE(worst, 1e-4);
    std::printf("[ onnx vs libtorch ] %-20s worst relative difference %.2e\n", c.label.c_str(), worst);
  }
}

}  // namespace
}  // namespace mcuprune
