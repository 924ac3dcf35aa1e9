// `mcuprune quantize`: fold BatchNorm, calibrate int8 on training samples, and report float
// and int8 test accuracy side by side (integer reference interpreter).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <thread>

#include "cli/common.h"
#include "quant/quantize.h"

namespace mcuprune {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct QuantArgs {
  std::string model, dataset, report;
  int calibration = 200, limit_test = 0, threads = 0;
};

void run_quantize(const QuantArgs& a) {
  LoadedModel m = load_model_dir(a.model);
  LoadOptions lo;
  lo.limit_test = a.limit_test;
  const Shape& in = m.graph.input_shape();
  lo.image = {in.h, in.w, in.c};
  DatasetSplits data = load_dataset(a.dataset, lo);
  FoldedModel f = fold_for_inference(m.graph, m.weights);
  std::vector<std::vector<float>> calib = calibration_samples(data.train, a.calibration, m.graph.normalization);
  QuantizedModel q = quantize_model(f, calib);
  const Dataset& test = data.test;
  int threads = a.threads > 0 ? a.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<int64_t> float_ok(size_t(threads), 0), int8_ok(size_t(threads), 0), agree(size_t(threads), 0);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (size_t i = size_t(t); i < test.size(); i += size_t(threads)) {
        auto x = normalised_sample(test, i, m.graph.normalization);
        auto fy = float_forward(f.graph, f.weights, x)[size_t(f.graph.output)];
        std::vector<int8_t> xq;
        for (float v : x) xq.push_back(q.activations[0].quantize(v));
        auto qy = int8_forward(q, xq)[size_t(f.graph.output)];
        int64_t fa = std::max_element(fy.begin(), fy.end()) - fy.begin();
        int64_t qa = std::max_element(qy.begin(), qy.end()) - qy.begin();
        float_ok[size_t(t)] += fa == test.labels[i];
        int8_ok[size_t(t)] += qa == test.labels[i];
        agree[size_t(t)] += fa == qa;
      }
    });
  for (auto& th : pool) th.join();
  auto sum = [](const std::vector<int64_t>& v) { int64_t s = 0; for (auto x : v) s += x; return s; };
  const double n = double(test.size());
  const double facc = sum(float_ok) / n, qacc = sum(int8_ok) / n, ag = sum(agree) / n;
  json report = {{"format", "mcuprune-report"}, {"version", 1}, {"command", "quantize"},
                 {"mcuprune_version", kVersion}, {"model", model_summary_json(m.graph)},
                 {"model_dir", a.model}, {"dataset", {{"name", a.dataset}, {"test_samples", test.size()}}},
                 {"calibration_samples", calib.size()},
                 {"accuracy", {{"float", facc}, {"int8", qacc}, {"drop_points", (facc - qacc) * 100}}},
                 {"int8_float_agreement", ag}};
  std::string path = a.report.empty() ? (fs::path(a.model) / "quant_report.json").string() : a.report;
  write_report(path, report);
  std::printf("%s on %s (%zu test samples, %zu calibration samples)\n", m.graph.name.c_str(), a.dataset.c_str(),
              test.size(), calib.size());
  std::printf("float accuracy %.4f   int8 accuracy %.4f   (%+.2f points; int8 and float agree on %.2f%%)\n",
              facc, qacc, (qacc - facc) * 100, ag * 100);
  std::printf("report written to %s\n", path.c_str());
}

}  // namespace

void add_quantize_command(CLI::App& app) {
  auto args = std::make_shared<QuantArgs>();
  CLI::App* c = app.add_subcommand(
      "quantize",
      "Post-training int8 quantisation: fold BatchNorm, calibrate, and compare float and int8\n"
      "test accuracy with the integer reference interpreter (TFLite arithmetic).\n\n"
      "Examples:\n"
      "  mcuprune quantize --model runs/p --dataset fashion-mnist\n"
      "  mcuprune quantize --model runs/p --dataset fashion-mnist --calibration-samples 500 --limit-test 2000\n");
  c->add_option("--model", args->model, "trained model directory")->required();
  c->add_option("--dataset", args->dataset, "dataset (calibration: training split; accuracy: test split)")->required();
  c->add_option("--calibration-samples", args->calibration, "training samples used to calibrate")->capture_default_str();
  c->add_option("--limit-test", args->limit_test, "evaluate only the first N test samples");
  c->add_option("--threads", args->threads, "threads (0 = all cores)");
  c->add_option("--report", args->report, "report file (default: MODEL/quant_report.json)");
  c->callback([args] { run_quantize(*args); });
}

}  // namespace mcuprune
