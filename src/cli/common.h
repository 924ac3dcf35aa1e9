// Helpers shared by the mcuprune subcommands: model and dataset resolution, option
// parsing of shapes, report writing.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/parse.h"
#include "data/dataset.h"
#include "graph/graph.h"
#include "graph/output_dir.h"
#include "graph/weights.h"

namespace CLI {
class App;
class Option;
}

namespace mcuprune {

extern const char* const kVersion;


struct ModelSpec {
  std::string model;  // zoo name, model directory, or .json file
  std::string input;  // HxWxC, optional
  int classes = 0;    // 0 = from the dataset
  double width = 0;
  int depth = 0;
};

struct LoadedModel {
  Graph graph;
  bool has_weights = false;
  WeightMap weights;
  std::string source;  // "zoo" | "directory" | "file"
};

// Zoo name (built for the dataset's shape and classes unless given), a directory with
// model.json (+ weights.bin if present) or a .json architecture file.
LoadedModel resolve_model(const ModelSpec& spec, const Dataset* data_shape_from);
// Model directory written by train/prune: model.json + weights.bin, both required; or an
// .onnx file (imported: export/onnx_import.h).
LoadedModel load_model_dir(const std::string& dir);
// quiet: no note that the file does not say how its inputs were normalised.
LoadedModel load_onnx_model(const std::string& path, bool quiet = false);

nlohmann::json model_summary_json(const Graph& g);
nlohmann::json dataset_summary_json(const DatasetSplits& d, const std::string& name);

// The first n training samples as model inputs (normalised_sample), for int8 calibration.
// Throws UserError for --calibration-samples < 1.
std::vector<std::vector<float>> calibration_samples(const Dataset& train, int n, const InputNormalization& norm);

struct FoldedModel;
struct QuantizedModel;
// int8 quantisation of a folded model calibrated on the first `calibration` training samples
// of `dataset` (export, deploy). Throws UserError without a dataset or for a shape mismatch.
QuantizedModel calibrate_int8(const LoadedModel& m, const FoldedModel& f, const std::string& dataset, int calibration);

// Writes `report` to path atomically (pretty JSON).
void write_report(const std::string& path, const nlohmann::json& report);
// Refuses (UserError) to replace an existing file or non-empty directory at `path` unless
// `force`; `option` names the option in the message. Devices (/dev/null) and empty
// directories are not refused.
void refuse_overwrite(const std::string& path, bool force, const std::string& option);

// Opens --out for a new run of `command` (train, prune, quantize, import) and locks it. A
// directory that holds results needs `force`, and is then replaced whole at commit()
// (OutputDir); `run_manifest` (e.g. "checkpoint/state.json", "" for none) marks a run that
// --resume can continue, named in the refusal. A checkpoint without its manifest (a run
// killed before its first one) is removed with a note.
std::unique_ptr<OutputDir> open_new_model_dir(const std::string& out, const std::string& command, bool force,
                                              const std::string& run_manifest, const std::string& log_json = "");
// --log-json inside a directory that is being replaced would be deleted with the old
// contents at the swap: refused (UserError; the open_* functions above check it).
void refuse_log_in_replaced_dir(const OutputDir& dir, const std::string& log_json);
// Opens the directory of a run to continue (--resume DIR) and locks it; when a --force run
// that replaces DIR was interrupted, the run continued is that one (said in a note).
std::unique_ptr<OutputDir> open_resumed_model_dir(const std::string& dir, const std::string& command,
                                                  const std::string& run_manifest, const std::string& log_json = "");

// Where a command's report goes by default: `name` inside the model directory; "" when the
// model is a file (an .onnx or an architecture .json), whose directory is not ours to write.
std::string default_report_path(const std::string& model, const std::string& name);
// Writes the report to `path` and says where, or says how to save it when `path` is "".
void write_report_and_say(const std::string& path, const nlohmann::json& report);

struct TrainConfig;
// The model, dataset and training options shared by `train` and `prune`.
void add_training_options(CLI::App* c, TrainConfig& cfg, ModelSpec& model);
// --keywords, --silence-share, --unknown-share (audio datasets).
void add_audio_task_options(CLI::App* c, LoadOptions& lo);
// A model trained on an audio task (classes _silence_, _unknown_, keywords...) reads an audio
// dataset with its own keywords: commands after training take them from the model.
void audio_task_of_model(const Graph& g, LoadOptions& lo);
struct DistOptions;
// --dist-url, --world-size, --rank, --dist-timeout (data-parallel workers, nn/dist.h).
void add_dist_options(CLI::App* c, DistOptions& d);
// --ram, --flash, --macs, --latency-ms (`profile`, `prune`); parse with parse_budgets.
void add_budget_options(CLI::App* c, BudgetOptions& b, const std::string& ram_help);

// Registers subcommands on the app; each returns via its callback.
void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_models_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_profile_command(CLI::App& app);  // also adds "boards"
void add_prune_command(CLI::App& app);
void add_quantize_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_deploy_command(CLI::App& app);
void add_import_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_launch_command(CLI::App& app);  // cmd_launch.cpp

// The run's HTML page (cmd_report.cpp, docs/reports.md) for JSON report `report` written at
// `json_path`: report.html beside it unless `html_path` is given. `model_dir` holds the run's
// model.json ("" : where the report says). Returns the page's path.
std::string write_run_page(const std::string& json_path, const nlohmann::json& report,
                           const std::string& model_dir = "", const std::string& html_path = "");
struct Profile;
// `profile --html FILE`: the profile `used` (as printed) with the timelines of both orders.
void write_profile_page(const std::string& path, const Profile& used, const Profile& given, const Profile& optimal);

// Checks for the options every command shares: --width a finite number in (0, 16];
// --threads an integer in [0, 256] (0: all cores).
CLI::Option* check_width(CLI::Option* o);
CLI::Option* check_threads(CLI::Option* o);
// --device (nn/device.h): checked when the command resolves it.
CLI::Option* add_device_option(CLI::App* c, std::string& device);
// An option that was given but has no effect in this combination is an error naming it and
// saying why (a value accepted without effect misleads). `has_effect` false and the option
// given on the command line: UserError(option + " " + why).
void refuse_without_effect(const CLI::App* c, const std::string& option, bool has_effect, const std::string& why);
// The training options that only some settings read: --momentum (sgd), --step-size and
// --step-gamma (the step schedule); --classes and --depth given as 0 or less.
void check_training_option_effects(const CLI::App* c, const TrainConfig& cfg, const ModelSpec& model);

// --seed: a whole number in [0, 10^18) (a sign or a fraction is refused, not wrapped).
CLI::Option* check_seed(CLI::Option* o);

}  // namespace mcuprune
