// `mcuprune eval`: accuracy, loss and confusion matrix of a trained model on a split.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "graph/io.h"

#include "cli/common.h"
#include "nn/device.h"
#include "nn/trainer.h"

namespace mcuprune {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct EvalArgs {
  std::string model, dataset, split = "test", report;
  int batch_size = 256, threads = 0, limit = 0;
  std::string device = "auto";
  bool json_out = false, force = false;
};

void print_confusion(const EvalResult& r, const std::vector<std::string>& names) {
  const size_t k = r.confusion.size();
  std::printf("confusion matrix (rows: true class, columns: predicted)\n%14s", "");
  for (size_t j = 0; j < k; ++j) std::printf("%6zu", j);
  std::printf("\n");
  for (size_t i = 0; i < k; ++i) {
    std::string n = i < names.size() ? names[i] : std::to_string(i);
    if (n.size() > 10) n = n.substr(0, 10);
    std::printf("%2zu %-10s |", i, n.c_str());
    for (size_t j = 0; j < k; ++j) std::printf("%6lld", (long long)r.confusion[i][j]);
    std::printf("\n");
  }
}

void run_eval(const EvalArgs& a) {
  const std::string device = use_device(a.device);  // before the data is read: a bad --device fails at once
  if (a.limit < 0) throw UserError("--limit must be >= 0 (0: every sample of the split)");
  LoadedModel m = load_model_dir(a.model);
  LoadOptions lo;
  const Shape& in = m.graph.feature_shape();
  lo.image = {in.h, in.w, in.c};
  audio_task_of_model(m.graph, lo);
  if (a.split != "test") {
    // The validation split is carved from the training set by fraction and seed: take the
    // ones the model's own run used, so that --split val scores the samples it held out.
    std::error_code ec;
    const fs::path report = fs::path(a.model) / "report.json";
    json config;
    if (fs::is_regular_file(report, ec)) {
      try {
        const json r = json::parse(read_file(report.string()));
        config = r.at("command") == "prune" ? r.at("config").at("train") : r.at("config");
        lo.val_fraction = config.at("val_fraction").get<double>();
        lo.seed = config.at("seed").get<uint64_t>();
      } catch (const json::exception&) {
        config = json();
      }
    }
    if (config.is_null())
      std::fprintf(stderr, "note: '%s' has no training report to take its validation split from; the split is "
                   "the default one (a fraction %g of the training set, seed %llu)\n", a.model.c_str(),
                   lo.val_fraction, (unsigned long long)lo.seed);
  }
  DatasetSplits data = load_dataset(a.dataset, lo);
  Dataset& d = a.split == "test" ? data.test : a.split == "val" ? data.val : data.train;
  if (a.limit > 0) d.truncate(size_t(a.limit));
  if (d.size() == 0)
    throw UserError("dataset '" + a.dataset + "' has no samples in its " + a.split + " split; there is nothing to "
                    "evaluate" + (a.split == "val" ? " (the model's run used no validation set: try --split test)" : ""));
  EvalResult r = evaluate_model(m.graph, m.weights, d, a.batch_size, a.threads);
  json report = {{"format", "mcuprune-report"},
                 {"version", 1},
                 {"command", "eval"},
                 {"mcuprune_version", kVersion},
                 {"model", model_summary_json(m.graph)},
                 {"model_dir", a.model},
                 {"dataset", {{"name", a.dataset}, {"split", a.split}, {"samples", d.size()}}},
                 {"accuracy", r.accuracy},
                 {"loss", r.loss},
                 {"confusion_matrix", r.confusion},
                 {"device", device}};
  refuse_overwrite(a.report, a.force, "--report");
  const std::string path = a.report.empty() ? default_report_path(a.model, "eval_report.json") : a.report;
  if (a.json_out) {
    if (!path.empty()) write_report(path, report);
    std::printf("%s\n", report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return;
  }
  std::printf("%s on %s/%s: accuracy %.4f  loss %.4f  (%zu samples)\n", m.graph.name.c_str(),
              a.dataset.c_str(), a.split.c_str(), r.accuracy, r.loss, d.size());
  print_confusion(r, m.graph.class_names);
  write_report_and_say(path, report);
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* c = app.add_subcommand(
      "eval",
      "Evaluate a trained model: accuracy, loss, confusion matrix.\n\n"
      "Examples:\n"
      "  mcuprune eval --model runs/tiny --dataset fashion-mnist\n"
      "  mcuprune eval --model runs/tiny --dataset fashion-mnist --split val --json\n");
  c->add_option("--model", args->model, "model directory (the --out of train)")->required();
  c->add_option("--dataset", args->dataset, "fashion-mnist, mnist, or a path")->required();
  c->add_option("--split", args->split, "test, val or train")
      ->check(CLI::IsMember({"test", "val", "train"}))
      ->capture_default_str();
  c->add_option("--batch-size", args->batch_size, "evaluation batch size")->capture_default_str();
  check_threads(c->add_option("--threads", args->threads, "CPU threads (0 = all cores)"));
  add_device_option(c, args->device);
  c->add_option("--limit", args->limit, "evaluate only the first N samples of the split");
  c->add_option("--report", args->report, "report file (default: MODEL/eval_report.json for a model directory)");
  c->add_flag("--force", args->force, "replace an existing --report file");
  c->add_flag("--json", args->json_out, "print the report as JSON");
  c->callback([args] {
    if (args->batch_size < 1) throw UserError("--batch-size must be >= 1");
    run_eval(*args);
  });
}

}  // namespace mcuprune
