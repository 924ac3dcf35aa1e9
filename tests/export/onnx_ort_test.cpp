// Every exported ONNX model is run by onnxruntime-node: the float model must match the
// float reference forward (and tests/nn/onnx_torch_test.cpp: LibTorch) to 1e-4, the QDQ
// model the integer reference interpreter, operator by operator (fed onnxruntime's own
// inputs), within 1 LSB where onnxruntime requantises through float (docs/export.md).
#include <gtest/gtest.h>

#include <cmath>

#include "common/ort_runner.h"
#include "export/fixtures.h"
#include "export/onnx.h"
#include "export/order.h"
#include "resources/board.h"

namespace mcuprune {
namespace {

// onnxruntime rounds float -> int8 half to even and requantises conv/gemm/pool/add/softmax
// through float; it may differ from TFLite's integer arithmetic by 1 LSB there.
bool may_round_differently(OpKind k) {
  return k == OpKind::Conv2D || k == OpKind::DepthwiseConv2D || k == OpKind::Dense || k == OpKind::Add ||
         k == OpKind::AvgPool || k == OpKind::GlobalAvgPool || k == OpKind::Softmax || k == OpKind::Concat;
}

TEST(OnnxOrt, FloatModelsMatchTheFloatReference) {
  const Board board = find_board("nucleo-f446re");
  auto inputs = test::fashion_images(test::fashion().test, 0, 3);
  for (const auto& c : test::export_cases()) {
    SCOPED_TRACE(c.label);
    const Graph& g = c.folded.graph;
    OnnxOptions opt;
    opt.order = deployment_order(g, board);
    auto res = test::run_onnx(export_onnx_float(c.folded, opt), g.input_shape(), inputs);
    ASSERT_EQ(res.size(), inputs.size());
    double worst = 0;
    for (size_t s = 0; s < inputs.size(); ++s) {
      auto ref = float_forward(g, c.folded.weights, inputs[s])[size_t(g.output)];
      auto it = res[s].find(g.nodes[size_t(g.output)].name);
      ASSERT_NE(it, res[s].end());
      auto got = test::from_nchw(it->second, g.output_shape());
      ASSERT_EQ(got.size(), ref.size());
      for (size_t k = 0; k < ref.size(); ++k)
        worst = std::max(worst, std::fabs(double(got[k]) - ref[k]) / std::max(1.0, std::fabs(double(ref[k]))));
    }
    EXPECT_LE(worst, 1e-4);
    std::printf("[ ort float ] %-20s worst relative difference %.2e\n", c.label.c_str(), worst);
  }
}

TEST(OnnxOrt, QdqModelsMatchTheIntegerReference) {
  auto inputs = test::fashion_images(test::fashion().test, 0, 3);
  for (const auto& c : test::export_cases()) {
    SCOPED_TRACE(c.label);
    const Graph& g = c.q.graph;
    OnnxOptions opt;
    opt.all_outputs = true;
    // The model input is quantised by the QDQ graph itself; feed values already on the
    // int8 grid so the reference and onnxruntime start from the same int8 input.
    std::vector<std::vector<float>> on_grid;
    for (const auto& x : inputs) {
      std::vector<float> v;
      for (int8_t qv : test::quantize_input(c.q, x)) v.push_back(c.q.activations[0].dequantize(qv));
      on_grid.push_back(v);
    }
    auto res = test::run_onnx(export_onnx_qdq(c.q, opt), g.input_shape(), on_grid);
    test::OpAgreement st;
    for (size_t s = 0; s < inputs.size(); ++s) {
      std::vector<std::vector<int8_t>> theirs(g.nodes.size());
      for (size_t i = 0; i < g.nodes.size(); ++i) {
        auto it = res[s].find(onnx_int8_name(g.nodes[i].name));
        ASSERT_NE(it, res[s].end()) << g.nodes[i].name;
        for (float v : test::from_nchw(it->second, g.nodes[i].out)) theirs[i].push_back(int8_t(v));
        ASSERT_EQ(int64_t(theirs[i].size()), g.nodes[i].out.elements());
      }
      EXPECT_EQ(theirs[0], test::quantize_input(c.q, inputs[s]));
      test::compare_each_operator(c.q, theirs, may_round_differently, "onnxruntime", st);
      // The float output is the dequantised int8 output.
      const QuantParams& po = c.q.activations[size_t(g.output)];
      auto out = test::from_nchw(res[s].at(g.nodes[size_t(g.output)].name + "_dq"), g.output_shape());
      for (size_t k = 0; k < out.size(); ++k)
        EXPECT_FLOAT_EQ(out[k], po.dequantize(theirs[size_t(g.output)][k]));
    }
    EXPECT_LE(st.off_by_one * 100, st.values) << st.off_by_one << " of " << st.values << " values off by one";
    std::printf("[ ort qdq ] %-20s ops: %lld values, %lld off by 1 (%.3f%%)\n", c.label.c_str(), (long long)st.values,
                (long long)st.off_by_one, st.off_by_one_percent());
  }
}

}  // namespace
}  // namespace mcuprune
