// Test tool: the test accuracy of a .tflite file as Arm NN (TFLite parser, CpuRef) runs it.
//   tflite_accuracy MODEL.tflite MODEL_DIR DATASET LIMIT
// MODEL_DIR supplies the input normalisation (model.json); prints {"accuracy": a, "samples": n}.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>

#include "data/dataset.h"
#include "export/armnn_runner.h"
#include "graph/graph_json.h"
#include "graph/io.h"
#include "quant/quantize.h"

int main(int argc, char** argv) {
  using namespace mcuprune;
  if (argc != 5) {
    std::fprintf(stderr, "usage: tflite_accuracy MODEL.tflite MODEL_DIR DATASET LIMIT\n");
    return 2;
  }
  try {
    test::ArmnnModel m(read_file(argv[1]));
    Graph g = load_graph(std::string(argv[2]) + "/model.json");
    LoadOptions lo;
    lo.limit_test = std::stoi(argv[4]);
    const Dataset test = load_dataset(argv[3], lo).test;
    const QuantParams in_q{m.input_scale(), m.input_zero_point()};
    int64_t correct = 0;
    for (size_t i = 0; i < test.size(); ++i) {
      std::vector<float> x = normalised_sample(test, i, g.normalization);
      test::ArmnnOutputs out;
      if (m.input_is_float()) {
        out = m.run(x.data(), x.size() * sizeof(float));
      } else {
        std::vector<int8_t> xq;
        for (float v : x) xq.push_back(in_q.quantize(v));
        out = m.run(xq.data(), xq.size());
      }
      long best;
      if (!out.f32.empty()) {
        const auto& y = out.f32.begin()->second;
        best = std::max_element(y.begin(), y.end()) - y.begin();
      } else {
        const auto& y = out.int8.begin()->second;
        best = std::max_element(y.begin(), y.end()) - y.begin();
      }
      correct += best == test.labels[i];
    }
    std::printf("{\"accuracy\": %.6f, \"samples\": %zu}\n", double(correct) / double(test.size()), test.size());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tflite_accuracy: %s\n", e.what());
    return 1;
  }
  return 0;
}
