// `mcuprune train`: train a zoo or user model on a dataset; writes the model, a
// checkpoint after every epoch, and report.json (docs/report-format.md).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <filesystem>

#include "cli/allocator.h"
#include "cli/common.h"
#include "nn/device.h"
#include "nn/dist.h"
#include "graph/io.h"
#include "graph/graph_json.h"
#include "nn/trainer.h"

namespace mcuprune {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct TrainArgs {
  bool epochs_given = false, threads_given = false, device_given = false;
  ModelSpec model;
  TrainConfig cfg;
  std::string out, resume;
  bool force = false, no_html = false;
  OutputOptions output;
  DistOptions dist;
};

void print_result_line(const char* what, const EvalResult& r) {
  std::printf("%s accuracy %.4f  loss %.4f  (%lld samples)\n", what, r.accuracy, r.loss,
              (long long)r.samples);
}

void run_train(TrainArgs a) {
  auto wall0 = std::chrono::steady_clock::now();
  bool resume = !a.resume.empty();
  // Data-parallel workers: rank 0 owns the output directory (lock, checkpoints, model, reports);
  // the others read what they need and write nothing.
  init_dist(resolve_dist(a.dist));
  const bool lead = is_rank0();
  if (!lead) a.output.quiet = true;
  if (!resume || a.device_given) use_device(a.cfg.device);  // a device refused before anything is written
  json extra;
  Graph graph;
  WeightMap init;
  bool has_init = false;
  std::string model_source;
  std::unique_ptr<OutputDir> dir;
  if (resume) {
    if (!a.out.empty() && fs::weakly_canonical(a.out) != fs::weakly_canonical(a.resume))
      throw UserError("--out and --resume name different directories; with --resume the run "
                      "continues in its own directory");
    if (lead) {
      dir = open_resumed_model_dir(a.resume, "train", "checkpoint/state.json", a.output.log_json);
      a.out = dir->work_path();
    }
    // Every worker reads rank 0's checkpoint once rank 0 has opened (and, after an interrupted
    // --force, finished swapping) the directory.
    const std::string work = dist_rank0_ready(lead ? a.out : std::string());
    if (!lead) a.out = work;
    CheckpointInfo ck = read_checkpoint(a.out);
    TrainConfig saved = ck.config;
    if (a.epochs_given) {  // --epochs may extend (or shorten) a resumed run
      if (a.cfg.epochs < ck.epochs_completed)
        throw UserError("--epochs " + std::to_string(a.cfg.epochs) + " is less than the " +
                        std::to_string(ck.epochs_completed) + " epochs '" + a.resume +
                        "' has already completed");
      saved.epochs = a.cfg.epochs;
    }
    if (a.threads_given) saved.threads = a.cfg.threads;
    if (a.device_given) saved.device = a.cfg.device;
    a.cfg = saved;
    graph = ck.graph;
    extra = ck.extra;
    model_source = extra.value("model_source", std::string("checkpoint"));
  } else {
    if (a.out.empty()) throw UserError("--out DIR is required (where the model and report go)");
    validate_train_config(a.cfg);  // before the directory is made
    if (lead) {
      dir = open_new_model_dir(a.out, "train", a.force, "checkpoint/state.json", a.output.log_json);
      a.out = dir->work_path();
    }
    dist_rank0_ready("");  // a refusal on rank 0 (a used directory) ends the others here
  }
  const std::string shown = lead ? dir->path() : a.out;  // the directory the user named
  a.output.resume_dir = shown;
  if (lead)
    if (const int n = remove_stale_temporaries(a.out, is_model_dir_entry))
      std::fprintf(stderr, "note: removed %d temporary file(s) that a killed run left in '%s'\n", n, a.out.c_str());
  validate_train_config(a.cfg);  // a resumed run's saved configuration too
  a.cfg.load.seed = a.cfg.seed;
  if (!resume && !a.model.input.empty() && !a.cfg.load.image.height) {
    Shape s = parse_shape(a.model.input, "--input");
    a.cfg.load.image = {s.h, s.w, s.c};  // used by image folders (resize); checked for others
  }
  a.cfg.load.keep_audio = a.cfg.augmentation.audio;
  DatasetSplits data = load_dataset(a.cfg.dataset, a.cfg.load);
  if (!resume) {
    LoadedModel m = resolve_model(a.model, &data.train);
    m.graph.check_classifier_output();
    graph = m.graph;
    init = m.weights;
    has_init = m.has_weights;
    model_source = a.model.model;
    extra = {{"model_source", model_source}};
  }
  set_checkpoint_extra(extra);
  const std::string device = use_device(a.cfg.device);
  dist_check_same(train_config_to_json(a.cfg).dump() + graph_to_json(graph).dump(), "training configuration or model");
  if (!a.output.quiet)
    std::fprintf(stderr, "training %s (%lld params) on %s: %zu train / %zu val / %zu test samples (device %s)\n",
                 graph.name.c_str(), (long long)graph_params(graph), a.cfg.dataset.c_str(),
                 data.train.size(), data.val.size(), data.test.size(), device.c_str());
  TrainResult r = train_model(graph, has_init ? &init : nullptr, data, a.cfg, a.out, resume, a.output);
  if (r.interrupted) return;  // checkpoint saved; main() exits 130

  // The final model: architecture (with input normalisation) + weights.
  if (lead) {
    save_graph((fs::path(a.out) / "model.json").string(), r.graph);
    save_weights((fs::path(a.out) / "weights.bin").string(), r.weights);
  }
  EvalResult val, test;  // every worker evaluates its share
  if (data.val.size()) val = evaluate_model(r.graph, r.weights, data.val, 256, a.cfg.threads);
  test = evaluate_model(r.graph, r.weights, data.test, 256, a.cfg.threads);
  if (!lead) return;
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();

  json hist = json::array();
  for (const auto& e : r.history) hist.push_back(epoch_stats_to_json(e));
  double train_acc = r.history.empty() ? 0 : r.history.back().train_accuracy;
  double train_loss = r.history.empty() ? 0 : r.history.back().train_loss;
  double total_train_s = 0;
  for (const auto& e : r.history) total_train_s += e.seconds;
  json report = {{"format", "mcuprune-report"},
                 {"version", 1},
                 {"command", "train"},
                 {"mcuprune_version", kVersion},
                 {"model", model_summary_json(r.graph)},
                 {"model_source", model_source},
                 {"dataset", dataset_summary_json(data, a.cfg.dataset)},
                 {"config", train_config_to_json(a.cfg)},
                 {"epochs", r.epochs_completed},
                 {"resumed", resume},
                 {"history", hist},
                 {"accuracy", {{"train", train_acc}, {"val", val.accuracy}, {"test", test.accuracy}}},
                 {"loss", {{"train", train_loss}, {"val", val.loss}, {"test", test.loss}}},
                 {"test_confusion_matrix", test.confusion},
                 {"train_time_s", total_train_s},
                 {"wall_time_s", wall},
                 {"workers", dist().world},
                 {"global_batch_size", a.cfg.batch_size * dist().world},
                 {"device", device},
                 {"layout", r.layout},
                 {"allocator", allocator_setting()}};
  write_report((fs::path(a.out) / "report.json").string(), report);
  if (!a.no_html) write_run_page((fs::path(a.out) / "report.json").string(), report, a.out);
  if (data.val.size()) print_result_line("val ", val);
  print_result_line("test", test);
  dir->commit();
  if (!a.output.quiet)
    std::fprintf(stderr, "model and report written to %s%s\n", shown.c_str(), a.no_html ? "" : " (report.html: the page)");
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* c = app.add_subcommand(
      "train",
      "Train a model on a dataset.\n\n"
      "Examples:\n"
      "  mcuprune train --model tinycnn --dataset fashion-mnist --epochs 2 --out runs/tiny\n"
      "  mcuprune train --model resnet8 --dataset /data/cifar-10-batches-bin --epochs 30 \\\n"
      "      --optimizer sgd --lr 0.05 --augment-crop 4 --augment-flip --out runs/r8\n"
      "  mcuprune train --resume runs/r8          # continue an interrupted run\n");
  add_training_options(c, args->cfg, args->model);
  c->add_option("--out", args->out, "output directory (model, checkpoint, report.json)");
  c->add_option("--resume", args->resume, "continue the interrupted run in this directory");
  c->add_flag("--quiet", args->output.quiet, "no progress output");
  c->add_flag("--force", args->force, "replace a model already in --out (a run there is continued with --resume)");
  c->add_option("--log-json", args->output.log_json, "append one JSON object per epoch to FILE");
  c->add_flag("--no-html", args->no_html, "no report.html (the page of report.json)");
  add_dist_options(c, args->dist);
  c->callback([args, c] {
    args->epochs_given = c->get_option("--epochs")->count() > 0;
    args->threads_given = c->get_option("--threads")->count() > 0;
    args->device_given = c->get_option("--device")->count() > 0;
    if (!args->resume.empty()) {
      // A resumed run keeps its saved configuration; only these may be given again.
      const std::vector<std::string> allowed = {"--resume", "--out", "--epochs", "--threads", "--device",
                                                "--quiet", "--log-json", "--no-html", "--help",
                                                "--dist-url", "--world-size", "--rank", "--dist-timeout"};
      for (const CLI::Option* o : c->get_options()) {
        std::string name = o->get_name(false, false);
        if (o->count() > 0 && std::find(allowed.begin(), allowed.end(), name) == allowed.end())
          throw UserError(name + " cannot be given with --resume: the run continues with the "
                          "configuration saved in its checkpoint (only --epochs, --threads, --device, "
                          "--quiet, --log-json, --no-html and the data-parallel flags may be given)");
      }
    }
    if (args->resume.empty()) {
      if (args->model.model.empty()) throw UserError("--model is required (see 'mcuprune models')");
      if (args->cfg.dataset.empty())
        throw UserError("--dataset is required, e.g. --dataset fashion-mnist");
      check_training_option_effects(c, args->cfg, args->model);
    }
    run_train(*args);
  });
}

}  // namespace mcuprune
