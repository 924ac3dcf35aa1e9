// Every exported .tflite is run by Arm NN (TFLite parser, CpuRef backend) on real
// Fashion-MNIST images and compared with the integer reference interpreter.
//
// Arm NN's reference kernels dequantise to float, compute in float and requantise with
// round-to-nearest, where TFLite's integer kernels (and ours) requantise the int32
// accumulator with a fixed-point multiplier. Both round the same real number, so they can
// disagree by one step where it lies within float error of a half (docs/export.md). The
// test therefore checks each operator on its own, fed Arm NN's own inputs: exact for
// most values, never more than 1 LSB apart. Whole-network outputs are also compared.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "common/expect_error.h"
#include "common/random_model.h"

#include "export/armnn_runner.h"
#include "export/fixtures.h"
#include "export/tflite_check.h"
#include "export/order.h"
#include "export/tflite.h"
#include "resources/board.h"
#include "resources/profile.h"
#include "resources/tflite_padding.h"

namespace mcuprune {
namespace {

using test::may_round_differently;

TEST(TfliteArmnn, EveryZooModelMatchesTheIntegerReference) {
  const Board board = find_board("nucleo-f446re");
  auto inputs = test::fashion_images(test::fashion().test, 0, 4);
  for (const auto& c : test::export_cases()) {
    SCOPED_TRACE(c.label);
    const Graph& g = c.q.graph;
    TfliteOptions opt;
    const Profile profile = profile_graph(g, board, ProfileOptions{});
    opt.order = deployment_order(profile);
    opt.all_outputs = true;
    test::ArmnnModel debug(export_tflite(c.q, opt));
    opt.all_outputs = false;
    const std::string file = export_tflite(c.q, opt);
    test::expect_file_is_the_deployment_view(test::read_tflite(file), profile);
    test::ArmnnModel plain(file);
    const int64_t predicted_flash = profile.flash_bytes;
    std::printf("[ flash ] %-20s .tflite %lld bytes, resource model %lld bytes (%+.1f%%)\n", c.label.c_str(),
                (long long)file.size(), (long long)predicted_flash, 100.0 * (double(predicted_flash) / file.size() - 1));
    // The flash model is an upper bound on the real file, and a tight one (its fixed and
    // per-operator overheads are slightly generous).
    EXPECT_GE(predicted_flash, int64_t(file.size()));
    EXPECT_LE(predicted_flash - int64_t(file.size()), 2048 + int64_t(file.size()) / 100);
    ASSERT_EQ(plain.output_names(), std::vector<std::string>{g.nodes[size_t(g.output)].name});

    test::OpAgreement st;
    int64_t final_values = 0, final_exact = 0, final_abs = 0, top1_agree = 0;
    int final_worst = 0;
    for (const auto& x : inputs) {
      std::vector<int8_t> xq = test::quantize_input(c.q, x);
      test::ArmnnOutputs a = debug.run(xq.data(), xq.size());
      // Arm NN's value of every node, in graph indexing.
      std::vector<std::vector<int8_t>> theirs(g.nodes.size());
      theirs[0] = xq;
      for (size_t i = 1; i < g.nodes.size(); ++i) {
        auto it = a.int8.find(g.nodes[i].name);
        ASSERT_NE(it, a.int8.end()) << "no Arm NN output for " << g.nodes[i].name;
        ASSERT_EQ(int64_t(it->second.size()), g.nodes[i].out.elements()) << g.nodes[i].name;
        theirs[i] = it->second;
      }
      test::compare_each_operator(c.q, theirs, may_round_differently, "Arm NN", st);
      // The plain export computes the same as the debug one.
      test::ArmnnOutputs p = plain.run(xq.data(), xq.size());
      EXPECT_EQ(p.int8.begin()->second, theirs[size_t(g.output)]);
      // End to end (printed, not bounded): with random weights a 1-LSB difference early on
      // can grow through the layers; the per-operator check above is the exactness test.
      auto ref = int8_forward(c.q, xq)[size_t(g.output)];
      for (size_t k = 0; k < ref.size(); ++k) {
        int d = std::abs(int(ref[k]) - int(theirs[size_t(g.output)][k]));
        final_worst = std::max(final_worst, d);
        final_exact += d == 0;
        final_abs += d;
        ++final_values;
      }
      const auto& out = theirs[size_t(g.output)];
      top1_agree += std::max_element(ref.begin(), ref.end()) - ref.begin() ==
                    std::max_element(out.begin(), out.end()) - out.begin();
    }
    // 1-LSB disagreements are rare rounding ties, not a systematic difference.
    EXPECT_LE(st.off_by_one * 100, st.values) << st.off_by_one << " of " << st.values << " values off by one";
    std::printf("[ armnn ] %-20s ops: %lld values, %lld off by 1 (%.3f%%); output: %lld/%lld exact, "
                "mean |diff| %.2f, worst %d, top-1 agrees %lld/%zu\n",
                c.label.c_str(), (long long)st.values, (long long)st.off_by_one, st.off_by_one_percent(),
                (long long)final_exact, (long long)final_values, double(final_abs) / final_values, final_worst,
                (long long)top1_agree, inputs.size());
  }
}

TEST(TfliteArmnn, FloatInterfaceQuantizesAndDequantizes) {
  const test::ExportCase& c = test::export_cases()[0];
  TfliteOptions opt;
  opt.float_io = true;
  test::ArmnnModel m(export_tflite(c.q, opt));
  auto x = test::fashion_images(test::fashion().test, 0, 1)[0];
  test::ArmnnOutputs a = m.run(x.data(), x.size() * sizeof(float));
  ASSERT_EQ(a.f32.size(), 1u);
  auto ref = int8_forward(c.q, test::quantize_input(c.q, x))[size_t(c.q.graph.output)];
  const QuantParams& out = c.q.activations[size_t(c.q.graph.output)];
  const std::vector<float>& y = a.f32.begin()->second;
  ASSERT_EQ(y.size(), ref.size());
  for (size_t k = 0; k < y.size(); ++k) EXPECT_NEAR(y[k], out.dequantize(ref[k]), 4.01 * out.scale) << k;
}

// A node with explicit padding (GraphBuilder's helpers take SAME/VALID only).
int padded(GraphBuilder& b, OpKind kind, int x, int channels, int kh, int kw, int stride, PadAmounts p,
           const std::string& name) {
  Node n;
  n.name = name;
  n.kind = kind;
  n.inputs = {x};
  n.out_channels = channels;
  n.kernel_h = kh, n.kernel_w = kw;
  n.stride_h = n.stride_w = stride;
  n.padding = Padding::Explicit;
  n.pad_top = p.top, n.pad_bottom = p.bottom, n.pad_left = p.left, n.pad_right = p.right;
  return b.append(n);
}

// Explicit padding that SAME cannot express: a stride-2 3x3 conv padded 1 (ResNet/MobileNet),
// a max pool padded 1 after its ReLU, a DS-CNN-style 5x3 stride-2 conv padded (1, 2, 0, 1), an
// asymmetric depthwise padding (2, 0, 1, 1); and one equal to SAME. Four PADs in TFLite.
Graph padnet() {
  GraphBuilder b("padnet", {28, 28, 1});
  int x = b.relu(b.batchnorm(padded(b, OpKind::Conv2D, 0, 8, 3, 3, 2, {1, 1, 1, 1}, "stem")), "stem_relu");
  x = padded(b, OpKind::MaxPool, x, 0, 3, 3, 2, {1, 1, 1, 1}, "pool");                       // 7x7
  x = b.relu(padded(b, OpKind::Conv2D, x, 12, 5, 3, 2, {1, 2, 0, 1}, "dscnn_like"), "r2");   // 3x3
  x = padded(b, OpKind::DepthwiseConv2D, x, 0, 3, 3, 1, {2, 0, 1, 1}, "dw_asym");           // 3x3
  x = padded(b, OpKind::DepthwiseConv2D, x, 0, 3, 3, 1, {1, 1, 1, 1}, "dw_same");           // SAME
  b.softmax(b.dense(b.flatten(b.global_avgpool(x)), 10, "fc"), "probs");
  return b.finish();
}

// Under every TFLite runtime the file holds a PAD per such node and is what the profile
// counted; Arm NN computes each operator as the integer reference on Fashion-MNIST.
TEST(TfliteArmnn, ExplicitPaddingIsAPadOperator) {
  const Graph g = padnet();
  std::mt19937_64 rng(7);
  const WeightMap w = test::random_weights(g, rng, /*he_scale=*/true);
  const auto samples = test::fashion_images(test::fashion().train, 0, 6);
  for (const char* runtime : {"tflm", "tflm-cmsis-nn", "cmsis-nn"}) {
    SCOPED_TRACE(runtime);
    EXPECT_EQ(test::expect_tflite_runs_as_the_reference(g, w, samples, runtime), 4);
  }
}

// The PAD the exporter writes fills with the zero point (TFLite's int8 PAD; Arm NN 20.08 fills
// with 0, hence the re-quantisation in tflite_check.h): for each padded node of padnet, the
// integer reference on its input padded with the zero point, with VALID padding, equals the
// reference's own padded window, also where the zero point is not 0.
TEST(TfliteExport, PadWithTheZeroPointThenValidIsThePaddedWindow) {
  const Graph g = padnet();
  std::mt19937_64 rng(7);
  const WeightMap w = test::random_weights(g, rng, true);
  const QuantizedModel q = quantize_model(fold_for_inference(g, w), test::fashion_images(test::fashion().train, 0, 6));
  const Graph& fg = q.graph;
  int checked = 0, nonzero_zero_points = 0;
  for (const auto& x : test::fashion_images(test::fashion().test, 0, 3)) {
    const auto v = int8_forward(q, test::quantize_input(q, x));
    for (int i = 1; i < int(fg.nodes.size()); ++i) {
      const OpKind k = fg.nodes[size_t(i)].kind;
      if (k != OpKind::Conv2D && k != OpKind::DepthwiseConv2D && k != OpKind::MaxPool) continue;
      const TflitePadding tp = tflite_padding(fg, i);
      if (tp.kind != TflitePadKind::PadOp) continue;
      const int in = fg.nodes[size_t(i)].inputs[0];
      const QuantParams& pin = q.activations[size_t(in)];
      // The node alone, VALID, reading an input of the padded shape.
      QuantizedModel alone;
      Node input;
      input.name = "padded";
      input.out = tflite_padded_shape(fg.nodes[size_t(in)].out, tp.pad);
      Node op = fg.nodes[size_t(i)];
      op.inputs = {0};
      op.padding = Padding::Valid;
      alone.graph.nodes = {input, op};
      alone.graph.output = 1;
      alone.graph.infer_shapes();
      alone.activations = {pin, q.activations[size_t(i)]};
      if (q.layers.count(i)) alone.layers[1] = q.layers.at(i);
      const auto padded_in = test::pad_map(v[size_t(in)], fg.nodes[size_t(in)].out, tp.pad, int8_t(pin.zero_point));
      EXPECT_EQ(int8_forward(alone, padded_in)[1], v[size_t(i)]) << fg.nodes[size_t(i)].name;
      ++checked;
      nonzero_zero_points += pin.zero_point != 0;
    }
  }
  EXPECT_EQ(checked, 3 * 4);
  EXPECT_GT(nonzero_zero_points, 0);
}

// What the TFLite export refuses, a profile under a TFLite runtime refuses with the same
// words; mcuprune's runtime (which pads in its kernels) takes the model.
TEST(TfliteExport, ProfileRefusesWhatTheExportRefusesWithTheSameReason) {
  for (OpKind pool : {OpKind::AvgPool, OpKind::MaxPool}) {
    GraphBuilder b("refused", {28, 28, 1});
    int x = b.conv(0, 4, 3, 1, Padding::Same, "c");  // no ReLU: a max pool's padding could win
    b.dense(b.flatten(padded(b, pool, x, 0, 3, 3, 2, {1, 1, 1, 1}, "p")), 10, "fc");
    Graph g = b.finish();
    std::mt19937_64 rng(3);
    const WeightMap w = test::random_weights(g, rng, true);
    const QuantizedModel q = quantize_model(fold_for_inference(g, w), test::fashion_images(test::fashion().train, 0, 2));
    const std::string from_export = test::user_error_of([&] { export_tflite(q); });
    EXPECT_TRUE(test::Contains(from_export, "p (" + std::string(op_kind_name(pool)) + "): explicit padding"));
    EXPECT_TRUE(test::Contains(from_export, "cannot be written in TFLite"));
    for (const char* runtime : {"tflm", "tflm-cmsis-nn", "cmsis-nn", "reference"}) {
      ProfileOptions o;
      o.runtime = runtime;
      EXPECT_EQ(test::user_error_of([&] { profile_graph(g, find_board("nucleo-f446re"), o); }), from_export)
          << runtime;
    }
    ProfileOptions o;
    o.runtime = "mcuprune";
    EXPECT_NO_THROW(profile_graph(g, find_board("nucleo-f446re"), o));
    o.runtime = "tflm";
    o.native_padding = true;  // an ONNX export's order
    EXPECT_NO_THROW(profile_graph(g, find_board("nucleo-f446re"), o));
  }
}

}  // namespace
}  // namespace mcuprune
