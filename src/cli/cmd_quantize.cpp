// `mcuprune quantize`: fold BatchNorm, calibrate int8 on training samples, and report float
// and int8 test accuracy side by side (integer reference interpreter).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <thread>

#include "cli/common.h"
#include "graph/graph_json.h"
#include "nn/device.h"
#include "nn/trainer.h"
#include "quant/quantize.h"

namespace mcuprune {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct QuantArgs {
  std::string model, dataset, report, out;
  int calibration = 200, limit_test = 0, threads = 0;
  std::string device = "auto";  // the fine-tuning's (calibration and int8 run mcuprune's own C++ on the CPU)
  // Quantisation-aware fine-tuning.
  int qat_epochs = 0, limit_train = 0, batch_size = 64;
  double qat_lr = 1e-4, val_fraction = 0.0;
  uint64_t seed = 1;
  bool quiet = false, force = false, no_html = false;
};

struct Accuracy {
  double float_acc = 0, int8_acc = 0, agreement = 0;
};

// Float (folded model) and int8 (integer reference) accuracy on `test`, in parallel.
Accuracy measure(const FoldedModel& f, const QuantizedModel& q, const Dataset& test, int threads) {
  std::vector<int64_t> float_ok(size_t(threads), 0), int8_ok(size_t(threads), 0), agree(size_t(threads), 0);
  std::vector<std::thread> pool;
  const Int8Interpreter interpreter(q);
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (size_t i = size_t(t); i < test.size(); i += size_t(threads)) {
        auto x = normalised_sample(test, i, f.graph.normalization);
        auto fy = float_forward(f.graph, f.weights, x)[size_t(f.graph.output)];
        std::vector<int8_t> xq;
        for (float v : x) xq.push_back(q.activations[0].quantize(v));
        auto qy = interpreter.forward(xq)[size_t(f.graph.output)];
        int64_t fa = std::max_element(fy.begin(), fy.end()) - fy.begin();
        int64_t qa = std::max_element(qy.begin(), qy.end()) - qy.begin();
        float_ok[size_t(t)] += fa == test.labels[i];
        int8_ok[size_t(t)] += qa == test.labels[i];
        agree[size_t(t)] += fa == qa;
      }
    });
  for (auto& th : pool) th.join();
  auto sum = [](const std::vector<int64_t>& v) { int64_t s = 0; for (auto x : v) s += x; return s; };
  const double n = double(std::max<size_t>(1, test.size()));
  return {double(sum(float_ok)) / n, double(sum(int8_ok)) / n, double(sum(agree)) / n};
}

json accuracy_json(const Accuracy& a) {
  return {{"float", a.float_acc}, {"int8", a.int8_acc}, {"drop_points", (a.float_acc - a.int8_acc) * 100}};
}

void run_quantize(QuantArgs a) {
  const std::string device = use_device(a.device);  // before anything is read: a bad --device fails at once
  if (a.qat_epochs < 0) throw UserError("--qat-epochs must be >= 0, got " + std::to_string(a.qat_epochs));
  if (!(a.qat_lr > 0) || !std::isfinite(a.qat_lr))
    throw UserError("--qat-lr must be a finite number > 0 (e.g. 1e-4)");
  if (a.qat_epochs > 0) {
    if (a.out.empty())
      throw UserError("--qat-epochs fine-tunes the weights: give --out DIR for the fine-tuned model (the model in '" +
                      a.model + "' is left as it is)");
  } else if (!a.out.empty()) {
    throw UserError("--out is for the model that --qat-epochs fine-tunes; without --qat-epochs nothing is written "
                    "but the report (--report)");
  }
  LoadedModel m = load_model_dir(a.model);
  m.graph.check_classifier_output();  // accuracy is measured on class scores
  refuse_overwrite(a.report, a.force, "--report");
  // The fine-tuned model's directory (a fine-tuning is not resumed: --force starts it afresh).
  std::unique_ptr<OutputDir> dir;
  if (a.qat_epochs > 0) dir = open_new_model_dir(a.out, "quantize", a.force, "");
  LoadOptions lo;
  lo.limit_test = a.limit_test;
  lo.limit_train = a.limit_train;
  lo.val_fraction = a.val_fraction;
  lo.seed = a.seed;
  const Shape& in = m.graph.feature_shape();
  lo.image = {in.h, in.w, in.c};
  audio_task_of_model(m.graph, lo);
  DatasetSplits data = load_dataset(a.dataset, lo);
  const int threads = a.threads > 0 ? a.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  FoldedModel f = fold_for_inference(m.graph, m.weights);
  std::vector<std::vector<float>> calib = calibration_samples(data.train, a.calibration, m.graph.normalization);
  QuantizedModel q = quantize_model(f, calib);
  const Accuracy ptq = measure(f, q, data.test, threads);

  json report = {{"format", "mcuprune-report"}, {"version", 1}, {"command", "quantize"},
                 {"mcuprune_version", kVersion}, {"model", model_summary_json(m.graph)},
                 {"model_dir", a.model}, {"dataset", {{"name", a.dataset}, {"test_samples", data.test.size()}}},
                 {"calibration_samples", calib.size()},
                 {"accuracy", accuracy_json(ptq)},
                 {"int8_float_agreement", ptq.agreement}};
  std::printf("%s on %s (%zu test samples, %zu calibration samples)\n", m.graph.name.c_str(), a.dataset.c_str(),
              data.test.size(), calib.size());
  std::printf("float accuracy %.4f   int8 accuracy %.4f   (%+.2f points; int8 and float agree on %.2f%%)\n",
              ptq.float_acc, ptq.int8_acc, (ptq.int8_acc - ptq.float_acc) * 100, ptq.agreement * 100);

  std::string path = a.report.empty() ? default_report_path(a.model, "quant_report.json") : a.report;
  if (a.qat_epochs > 0) {
    // Fine-tune the folded model (the int8 model's operators) with fake quantisation, then
    // calibrate and quantise the fine-tuned weights exactly as above.
    TrainConfig tc;
    tc.epochs = a.qat_epochs;
    tc.lr = a.qat_lr;
    tc.batch_size = a.batch_size;
    tc.seed = a.seed;
    tc.threads = a.threads;
    tc.device = a.device;
    tc.fake_quant = true;
    tc.dataset = a.dataset;
    tc.load = lo;
    OutputOptions oo;
    oo.quiet = a.quiet;
    if (!a.quiet)
      std::fprintf(stderr, "quantisation-aware fine-tuning: %d epoch(s) at lr %g on %zu training samples\n",
                   a.qat_epochs, a.qat_lr, data.train.size());
    const std::string work = dir->work_path();
    TrainResult r = train_model(f.graph, &f.weights, data, tc, work, false, oo);
    if (r.interrupted) return;  // checkpoint saved; main() exits 130
    FoldedModel fq{r.graph, r.weights};
    std::vector<std::vector<float>> calib_q = calibration_samples(data.train, a.calibration, fq.graph.normalization);
    QuantizedModel qq = quantize_model(fq, calib_q);
    const Accuracy qat = measure(fq, qq, data.test, threads);
    save_graph((fs::path(work) / "model.json").string(), r.graph);
    save_weights((fs::path(work) / "weights.bin").string(), r.weights);
    json qj = accuracy_json(qat);
    qj["epochs"] = a.qat_epochs;
    qj["lr"] = a.qat_lr;
    qj["train_samples"] = data.train.size();
    qj["int8_float_agreement"] = qat.agreement;
    qj["int8_gain_points"] = (qat.int8_acc - ptq.int8_acc) * 100;
    qj["int8_minus_original_float_points"] = (qat.int8_acc - ptq.float_acc) * 100;
    qj["model_dir"] = a.out;
    qj["device"] = device;
    json qh = json::array();
    for (const auto& e : r.history) qh.push_back(epoch_stats_to_json(e));
    qj["history"] = qh;
    report["qat"] = qj;
    if (a.report.empty()) path = (fs::path(work) / "quant_report.json").string();
    std::printf("after %d epoch(s) of quantisation-aware fine-tuning: float %.4f   int8 %.4f   "
                "(int8 %+.2f points against post-training int8, %+.2f against the original float)\n",
                a.qat_epochs, qat.float_acc, qat.int8_acc, (qat.int8_acc - ptq.int8_acc) * 100,
                (qat.int8_acc - ptq.float_acc) * 100);
    std::printf("fine-tuned model written to %s (folded: BatchNorm is merged into the layers)\n", a.out.c_str());
  }
  if (!dir) return write_report_and_say(path, report);
  write_report(path, report);
  if (a.qat_epochs > 0 && !a.no_html) write_run_page(path, report, dir->work_path());
  dir->commit();
  if (a.report.empty()) path = (fs::path(a.out) / "quant_report.json").string();
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
      "  mcuprune quantize --model runs/p --dataset fashion-mnist --calibration-samples 500 --limit-test 2000\n"
      "  mcuprune quantize --model runs/p --dataset fashion-mnist --qat-epochs 1 --out runs/p-qat\n");
  c->add_option("--model", args->model, "trained model directory")->required();
  c->add_option("--dataset", args->dataset, "dataset (calibration: training split; accuracy: test split)")->required();
  c->add_option("--calibration-samples", args->calibration, "training samples used to calibrate")->capture_default_str();
  c->add_option("--limit-test", args->limit_test, "evaluate only the first N test samples");
  check_threads(c->add_option("--threads", args->threads, "threads (0 = all cores)"));
  c->add_option("--device", args->device,
                "where the quantisation-aware fine-tuning computes: auto, cpu, cuda or cuda:N (calibration and the "
                "int8 model run on the CPU, in mcuprune's own reference code)")
      ->capture_default_str();
  c->add_option("--report", args->report, "report file (default: MODEL/quant_report.json, or OUT/ with --qat-epochs)");
  c->add_option("--qat-epochs", args->qat_epochs,
                "quantisation-aware fine-tuning: epochs of training with fake int8 quantisation (0 = none)");
  c->add_option("--qat-lr", args->qat_lr, "learning rate of the quantisation-aware fine-tuning (Adam, cosine)")
      ->capture_default_str();
  c->add_option("--out", args->out, "with --qat-epochs: directory for the fine-tuned (folded) model");
  c->add_flag("--force", args->force, "replace a model already in --out, or an existing --report file");
  c->add_option("--limit-train", args->limit_train, "use only N training samples (calibration and fine-tuning)");
  c->add_option("--val-fraction", args->val_fraction,
                "fraction of the training set held out before --limit-train (match the run that trained the model)")
      ->capture_default_str();
  c->add_option("--batch-size", args->batch_size, "batch size of the fine-tuning")->capture_default_str();
  check_seed(c->add_option("--seed", args->seed, "seed of the data split and the fine-tuning"))->capture_default_str();
  c->add_flag("--quiet", args->quiet, "no progress output");
  c->add_flag("--no-html", args->no_html, "with --qat-epochs: no OUT/report.html (the page of quant_report.json)");
  c->callback([args, c] {
    for (const char* o : {"--qat-lr", "--batch-size"})
      refuse_without_effect(c, o, args->qat_epochs > 0, "without --qat-epochs (it is the fine-tuning's)");
    run_quantize(*args);
  });
}

}  // namespace mcuprune
