// Model/dataset resolution and report helpers for the CLI.
#include "cli/common.h"
#include "nn/dist.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <filesystem>

#include "export/onnx_import.h"
#include "graph/graph_json.h"
#include "graph/io.h"
#include "graph/zoo.h"
#include "nn/trainer.h"
#include "quant/quantize.h"
#include <CLI/CLI.hpp>

namespace mcuprune {

namespace fs = std::filesystem;
using nlohmann::json;

const char* const kVersion = "0.1.0";

bool is_onnx_path(const std::string& path) {
  return fs::path(path).extension() == ".onnx";
}

LoadedModel load_onnx_model(const std::string& path, bool quiet) {
  if (!fs::is_regular_file(path)) throw UserError("ONNX model '" + path + "' does not exist or is not a file");
  ImportedOnnx imp = import_onnx(read_file(path), path);
  if (!quiet)
    std::fprintf(stderr,
                 "note: '%s' does not say how its inputs were normalised; commands that read a dataset "
                 "normalise its pixels with the dataset's own mean and std. If the model was trained on other "
                 "inputs, import it with: mcuprune import %s --out DIR --input-mean M --input-std S\n",
                 path.c_str(), path.c_str());
  LoadedModel m;
  m.graph = std::move(imp.graph);
  m.weights = std::move(imp.weights);
  m.has_weights = true;
  m.source = "onnx";
  return m;
}

LoadedModel load_model_dir(const std::string& dir) {
  if (is_onnx_path(dir)) return load_onnx_model(dir);
  fs::path d(dir);
  std::error_code ec;
  if (fs::is_regular_file(d, ec) && d.extension() == ".json")
    throw UserError("'" + dir + "' is an architecture file without weights; this command needs a trained model: the "
                    "--out directory of train, prune or import, or an .onnx file (train it first: mcuprune train --model " +
                    dir + " ...)");
  if (fs::exists(d, ec) && !fs::is_directory(d, ec))
    throw UserError("'" + dir + "' is a file, not a model; give the --out directory of train, prune or import, or an "
                    ".onnx file");
  if (!fs::is_directory(d))
    throw UserError("model directory '" + dir + "' does not exist; give the --out directory of "
                    "a 'mcuprune train' run");
  if (!fs::exists(d / "model.json"))
    throw UserError("'" + dir + "' has no model.json; give the --out directory of a "
                    "'mcuprune train' run");
  if (!fs::exists(d / "weights.bin"))
    throw UserError("'" + dir + "' has model.json but no weights.bin; the model was never "
                    "trained (or training was interrupted: resume it with --resume " + dir + ")");
  LoadedModel m;
  m.graph = load_graph((d / "model.json").string());
  m.weights = load_weights((d / "weights.bin").string());
  check_weights_match(m.graph, m.weights, (d / "weights.bin").string());
  check_float_forward(m.graph, m.weights, (d / "weights.bin").string());
  m.has_weights = true;
  m.source = "directory";
  return m;
}

LoadedModel resolve_model(const ModelSpec& spec, const Dataset* data) {
  LoadedModel m;
  if (zoo_has(spec.model)) {
    ZooOptions o;
    if (!spec.input.empty()) o.input = parse_shape(spec.input, "--input");
    else if (data) o.input = {data->height, data->width, data->channels};
    o.classes = spec.classes > 0 ? spec.classes : (data ? data->num_classes : 10);
    o.width = spec.width;
    o.depth = spec.depth;
    m.graph = zoo_build(spec.model, o);
    if (data && data->audio && spec.input.empty()) m.graph = with_front_end(m.graph, data->front_end);
    m.source = "zoo";
    return m;
  }
  bool shape_opts = !spec.input.empty() || spec.classes > 0 || spec.width > 0 || spec.depth > 0;
  if (is_onnx_path(spec.model)) {
    if (shape_opts)
      throw UserError("--input/--classes/--width/--depth apply to built-in models only, not to '" + spec.model + "'");
    return load_onnx_model(spec.model);
  }
  if (fs::is_directory(spec.model) && fs::exists(fs::path(spec.model) / "model.json")) {
    if (shape_opts)
      throw UserError("--input/--classes/--width/--depth apply to built-in models only, not to '" +
                      spec.model + "'");
    if (fs::exists(fs::path(spec.model) / "weights.bin")) {
      m = load_model_dir(spec.model);
    } else {
      m.graph = load_graph((fs::path(spec.model) / "model.json").string());
      m.source = "directory";
    }
    return m;
  }
  if (fs::is_regular_file(spec.model) && fs::path(spec.model).extension() == ".json") {
    if (shape_opts)
      throw UserError("--input/--classes/--width/--depth apply to built-in models only, not to '" +
                      spec.model + "'");
    m.graph = load_graph(spec.model);
    m.source = "file";
    return m;
  }
  std::string list;
  for (const auto& e : zoo_entries()) list += (list.empty() ? "" : ", ") + e.name;
  throw UserError("unknown model '" + spec.model + "'; built-in models: " + list +
                  "; or a directory with model.json, a .json architecture file or an .onnx model "
                  "(see 'mcuprune models')");
}

json model_summary_json(const Graph& g) {
  const Shape& in = g.input_shape();
  return {{"name", g.name},
          {"input", {in.h, in.w, in.c}},
          {"classes", g.output_shape().c},
          {"nodes", g.nodes.size()},
          {"params", graph_params(g)},
          {"params_with_bn", graph_params_with_bn(g)}};
}

json dataset_summary_json(const DatasetSplits& d, const std::string& name) {
  return {{"name", name},
          {"shape", {d.train.height, d.train.width, d.train.channels}},
          {"classes", d.train.num_classes},
          {"class_names", d.train.class_names},
          {"train_samples", d.train.size()},
          {"val_samples", d.val.size()},
          {"test_samples", d.test.size()}};
}

void refuse_overwrite(const std::string& path, bool force, const std::string& option) {
  std::error_code ec;
  if (force || path.empty() || !fs::exists(fs::symlink_status(path, ec))) return;
  if (fs::is_symlink(fs::symlink_status(path, ec)) && !fs::exists(fs::status(path, ec)))
    throw UserError(option + " '" + path + "' is a symbolic link to a missing file ('" +
                    fs::read_symlink(path, ec).string() + "'); pass --force to write through it, or choose another path");
  if (fs::is_directory(path, ec) ? fs::is_empty(path, ec) : !fs::is_regular_file(path, ec)) return;
  throw UserError(option + " '" + path + "' already exists" + (fs::is_directory(path, ec) ? " and is not empty" : "") +
                  "; pass --force to replace it, or choose another path");
}

std::unique_ptr<OutputDir> open_new_model_dir(const std::string& out, const std::string& command, bool force,
                                              const std::string& run_manifest, const std::string& log_json) {
  auto dir = std::make_unique<OutputDir>(out, "--out", command);
  std::vector<std::string> entries = dir->entries();
  if (entries.empty()) return dir;
  const fs::path p(dir->path());
  std::error_code ec;
  if (!force) {
    if (!run_manifest.empty() && fs::exists(p / run_manifest, ec))
      throw UserError("'" + out + "' already holds a " +
                      (command == "train" ? "training run" : command == "prune" ? "pruning run" : "run") +
                      "; continue it with --resume " + out +
                      ", pass --force to start over, or choose another --out directory");
    if (fs::exists(p / "model.json", ec))
      throw UserError("'" + out + "' already holds a model (model.json); pass --force to replace it, "
                      "or choose another --out directory");
    // Nothing is removed before every refusal is known.
    bool stale_checkpoint = false;
    for (const std::string& e : entries) {
      if (!is_model_dir_entry(e)) continue;  // unrelated files: the results are written beside them
      if (e == "checkpoint" && model_dir_entry_is_ours(dir->path(), e)) {
        stale_checkpoint = true;  // a run killed before its first checkpoint
        continue;
      }
      throw UserError("'" + out + "' already holds '" + e + "'" +
                      (model_dir_entry_is_ours(dir->path(), e) ? " of an earlier mcuprune command; pass --force to replace "
                                                                 "the directory,"
                                                               : ", which mcuprune would write over;") +
                      " or choose another --out directory");
    }
    if (stale_checkpoint) {
      std::fprintf(stderr, "note: '%s' holds no complete checkpoint (a run stopped before its first one); "
                   "starting a new run there\n", (p / "checkpoint").string().c_str());
      remove_tree((p / "checkpoint").string(), ec);
    }
    return dir;
  }
  const std::string real = dir->path();
  dir->begin_replace([&real](const std::string& e) { return model_dir_entry_is_ours(real, e); });
  refuse_log_in_replaced_dir(*dir, log_json);
  std::fprintf(stderr, "note: --force: the new results are written to '%s' and replace '%s' whole when the command "
               "finishes\n", dir->work_path().c_str(), out.c_str());
  return dir;
}

void refuse_log_in_replaced_dir(const OutputDir& dir, const std::string& log_json) {
  if (log_json.empty() || dir.work_path() == dir.path()) return;
  std::error_code ec;
  const fs::path log = fs::weakly_canonical(fs::absolute(log_json, ec), ec);
  const fs::path root = fs::weakly_canonical(fs::absolute(dir.path(), ec), ec);
  const auto rel = log.lexically_relative(root);
  if (!rel.empty() && *rel.begin() != "..")
    throw UserError("--log-json '" + log_json + "' is inside '" + dir.path() + "', which is being replaced whole: the log "
                    "would be removed with the old contents; write it outside that directory");
}

std::unique_ptr<OutputDir> open_resumed_model_dir(const std::string& path, const std::string& command,
                                                  const std::string& run_manifest, const std::string& log_json) {
  if (!fs::is_directory(path)) throw UserError("--resume '" + path + "': no such directory");
  auto dir = std::make_unique<OutputDir>(path, "--resume", command);
  if (dir->has_staged_run(run_manifest)) {
    dir->resume_staged_run();
    refuse_log_in_replaced_dir(*dir, log_json);
    std::fprintf(stderr, "note: continuing the run started with --force that replaces '%s' (in '%s'); it is "
                 "swapped in when it finishes\n", path.c_str(), dir->work_path().c_str());
  }
  return dir;
}

std::string default_report_path(const std::string& model, const std::string& name) {
  return fs::is_directory(model) ? (fs::path(model) / name).string() : std::string();
}

void write_report_and_say(const std::string& path, const nlohmann::json& report) {
  if (path.empty()) {
    std::printf("report not saved (the model is a file, not a model directory): pass --report FILE to save it\n");
    return;
  }
  write_report(path, report);
  std::printf("report written to %s\n", path.c_str());
}

void write_report(const std::string& path, const json& report) {
  write_file_atomic(path, report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

}  // namespace mcuprune

namespace mcuprune {

void add_budget_options(CLI::App* c, BudgetOptions& b, const std::string& ram_help) {
  // Given with an empty or zero value is an error (parse_budgets), not "no budget".
  c->add_option_function<std::string>("--ram", [&b](const std::string& v) { b.ram = v; }, ram_help);
  c->add_option_function<std::string>("--flash", [&b](const std::string& v) { b.flash = v; },
                                      "flash budget in bytes, KiB or MiB (e.g. 256KiB)");
  c->add_option_function<std::string>("--macs", [&b](const std::string& v) { b.macs = v; },
                                      "MAC budget: a count, plain or with k, M, G (e.g. 5M)");
  c->add_option_function<double>("--latency-ms", [&b](const double& v) { b.latency_ms = v; },
                                 "latency budget in milliseconds (e.g. 50)");
}

void add_training_options(CLI::App* c, TrainConfig& cfg, ModelSpec& model) {
  c->add_option("--model", model.model, "zoo name (see 'mcuprune models'), model directory or .json file");
  c->add_option("--dataset", cfg.dataset,
                "fashion-mnist, mnist, or a path (IDX dir, CIFAR-10 dir, image folder, Speech Commands folder, .npz file)");
  c->add_option("--input", model.input, "input shape HxWxC for zoo models (default: the dataset's)");
  c->add_option("--classes", model.classes, "number of classes for zoo models (default: the dataset's)");
  check_width(c->add_option("--width", model.width, "width multiplier for zoo models"));
  c->add_option("--depth", model.depth, "vgg depth: 11, 13, 16 or 19");
  c->add_option("--epochs", cfg.epochs, "training epochs")->capture_default_str();
  c->add_option("--batch-size", cfg.batch_size, "batch size")->capture_default_str();
  c->add_option("--optimizer", cfg.optimizer, "adam or sgd")->capture_default_str();
  c->add_option("--lr", cfg.lr, "learning rate")->capture_default_str();
  c->add_option("--momentum", cfg.momentum, "SGD momentum")->capture_default_str();
  c->add_option("--weight-decay", cfg.weight_decay, "weight decay")->capture_default_str();
  c->add_option("--schedule", cfg.schedule, "cosine, step or constant")->capture_default_str();
  c->add_option("--step-size", cfg.step_size, "step schedule: epochs between decays")->capture_default_str();
  c->add_option("--step-gamma", cfg.step_gamma, "step schedule: decay factor")->capture_default_str();
  check_seed(c->add_option("--seed", cfg.seed, "random seed (init, split, shuffling)"))->capture_default_str();
  check_threads(c->add_option("--threads", cfg.threads, "CPU threads (0 = all cores)"))->capture_default_str();
  add_device_option(c, cfg.device);
  c->add_option("--augment-crop", cfg.augmentation.crop_padding, "random crop after padding by N pixels");
  c->add_flag("--augment-flip", cfg.augmentation.horizontal_flip, "random horizontal flips");
  c->add_flag("--augment-audio", cfg.augmentation.audio,
              "audio datasets: shift clips by up to 100 ms and mix background noise in (p 0.8, volume < 0.1)");
  c->add_option("--val-fraction", cfg.load.val_fraction, "validation share of the training set")->capture_default_str();
  c->add_option("--limit-train", cfg.load.limit_train, "use only N training samples");
  c->add_option("--limit-test", cfg.load.limit_test, "use only N test samples");
  add_audio_task_options(c, cfg.load);
}

void add_dist_options(CLI::App* c, DistOptions& d) {
  c->add_option("--dist-url", d.url, "data-parallel: rank 0's address, tcp://HOST:PORT (or torchrun's MASTER_ADDR/PORT)");
  c->add_option("--world-size", d.world_size, "data-parallel: the number of workers (or WORLD_SIZE)");
  c->add_option("--rank", d.rank, "data-parallel: this worker, 0 to world size - 1 (or RANK)");
  c->add_option("--dist-timeout", d.timeout_s, "data-parallel: seconds a worker waits for the others before the run stops")
      ->capture_default_str();
}

void add_audio_task_options(CLI::App* c, LoadOptions& lo) {
  c->add_option_function<std::string>(
      "--keywords",
      [&lo](const std::string& v) {
        lo.keywords.clear();
        std::string cur;
        for (char ch : v + ",") {
          if (ch == ',') {
            if (cur.empty()) throw UserError("--keywords '" + v + "' has an empty word; give words separated by commas");
            lo.keywords.push_back(cur);
            cur.clear();
          } else {
            cur += ch;
          }
        }
      },
      "audio datasets: the words to spot, comma-separated (default: yes,no,up,down,left,right,on,off,stop,go)");
  c->add_option("--silence-share", lo.silence_share, "audio datasets: _silence_ samples per keyword sample")
      ->capture_default_str();
  c->add_option("--unknown-share", lo.unknown_share, "audio datasets: _unknown_ samples per keyword sample")
      ->capture_default_str();
}

void audio_task_of_model(const Graph& g, LoadOptions& lo) {
  if (g.class_names.size() > 2 && g.class_names[0] == "_silence_" && g.class_names[1] == "_unknown_")
    lo.keywords.assign(g.class_names.begin() + 2, g.class_names.end());
}

std::vector<std::vector<float>> calibration_samples(const Dataset& train, int n, const InputNormalization& norm) {
  if (n < 1) throw UserError("--calibration-samples must be >= 1");
  std::vector<std::vector<float>> r;
  for (size_t i = 0; i < std::min<size_t>(size_t(n), train.size()); ++i) r.push_back(normalised_sample(train, i, norm));
  return r;
}

CLI::Option* check_width(CLI::Option* o) {
  return o->check(CLI::Validator(
      [](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0' || !std::isfinite(v) || v <= 0 || v > 16)
          return "--width '" + text + "' must be a number in (0, 16] (e.g. 0.5, 1, 2)";
        return "";
      },
      "(0, 16]"));
}

void refuse_without_effect(const CLI::App* c, const std::string& option, bool has_effect, const std::string& why) {
  if (!has_effect && c->get_option(option)->count() > 0)
    throw UserError(option + " has no effect " + why + "; leave it out");
}

void check_training_option_effects(const CLI::App* c, const TrainConfig& cfg, const ModelSpec& model) {
  refuse_without_effect(c, "--momentum", cfg.optimizer == "sgd", "with --optimizer " + cfg.optimizer + " (it is SGD's)");
  for (const char* o : {"--step-size", "--step-gamma"})
    refuse_without_effect(c, o, cfg.schedule == "step", "with --schedule " + cfg.schedule + " (it is the step schedule's)");
  // (resolve_model refuses the shape options for models that are not built in.)
  if (c->get_option("--classes")->count() > 0 && model.classes < 1)
    throw UserError("--classes must be at least 1, got " + std::to_string(model.classes));
  if (c->get_option("--depth")->count() > 0 && model.depth < 1)
    throw UserError("--depth must be 11, 13, 16 or 19 (vgg), got " + std::to_string(model.depth));
}

CLI::Option* check_seed(CLI::Option* o) {
  return o->check(CLI::Validator(
      [](std::string& text) -> std::string {
        const bool digits = !text.empty() && text.size() <= 18 &&
                            std::all_of(text.begin(), text.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
        if (!digits) return "--seed '" + text + "' must be a whole number from 0 to 999999999999999999 (e.g. 1)";
        return "";
      },
      "0..999999999999999999"));
}

CLI::Option* add_device_option(CLI::App* c, std::string& device) {
  return c
      ->add_option("--device", device,
                   "where LibTorch computes: auto (a GPU when this build has CUDA and one is visible), cpu, cuda or "
                   "cuda:N")
      ->capture_default_str();
}

CLI::Option* check_threads(CLI::Option* o) {
  return o->check(CLI::Range(0, 256).description("[0, 256], 0 = all cores"));
}

}  // namespace mcuprune
