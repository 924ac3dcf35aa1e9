// Our float forward against onnxruntime-node on the same inputs (test-only).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "common/ort_runner.h"
#include "quant/fold.h"
#include "quant/quantize.h"

namespace mcuprune::test {

// For every HWC input: our forward of `f` equals onnxruntime's value `output` of the ONNX model
// `model_bytes` within 1e-4 (relative). nhwc_input: the ONNX input is [1, H, W, C].
inline void expect_same_as_onnxruntime(const FoldedModel& f, const std::string& model_bytes,
                                       const std::vector<std::vector<float>>& xs, const std::string& output,
                                       bool nhwc_input, const std::string& what) {
  const OrtResults ort = run_onnx(model_bytes, f.graph.input_shape(), xs, true, nhwc_input);
  for (size_t k = 0; k < xs.size(); ++k) {
    const auto ours = float_forward(f.graph, f.weights, xs[k])[size_t(f.graph.output)];
    ASSERT_TRUE(ort[k].count(output)) << what << ": no output named " << output;
    const auto theirs = from_nchw(ort[k].at(output), f.graph.output_shape());
    ASSERT_EQ(ours.size(), theirs.size()) << what;
    for (size_t j = 0; j < ours.size(); ++j)
      EXPECT_NEAR(ours[j], theirs[j], 1e-4 * (1 + std::fabs(theirs[j]))) << what << " sample " << k << " output " << j;
  }
}

}  // namespace mcuprune::test
