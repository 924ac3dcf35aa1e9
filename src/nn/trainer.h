// Training and evaluation of an IR model with LibTorch, with atomic per-epoch
// checkpoints, resume, Ctrl-C handling and progress output. This header does not include
// LibTorch, so the CLI and other callers compile fast.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "graph/graph.h"
#include "graph/weights.h"

namespace mcuprune {

struct TrainConfig {
  int epochs = 10;
  int batch_size = 64;
  std::string optimizer = "adam";  // adam | sgd
  double lr = 1e-3;
  double momentum = 0.9;           // sgd
  double weight_decay = 0.0;
  std::string schedule = "cosine";  // cosine | step | constant
  int step_size = 10;               // step schedule: epochs between decays
  double step_gamma = 0.1;          // step schedule: decay factor
  uint64_t seed = 1;
  int threads = 0;  // 0 = all cores
  std::string device = "auto";  // --device: auto | cpu | cuda | cuda:N (nn/device.h)
  Augmentation augmentation;
  // Quantisation-aware training: fake int8 quantisation in the forward pass (Net's
  // set_fake_quant). For a folded graph; `mcuprune quantize --qat-epochs` sets it.
  bool fake_quant = false;
  // Where the model came from and how the data was loaded, so --resume can rebuild both.
  std::string dataset;
  LoadOptions load;
};
nlohmann::json train_config_to_json(const TrainConfig& c);
TrainConfig train_config_from_json(const nlohmann::json& j, const std::string& where);
// Checks ranges; throws UserError naming the option.
void validate_train_config(const TrainConfig& c);

struct EvalResult {
  int64_t samples = 0;
  double loss = 0, accuracy = 0;
  std::vector<std::vector<int64_t>> confusion;  // [true class][predicted class]
};
nlohmann::json eval_result_to_json(const EvalResult& r);

struct EpochStats {
  int epoch = 0;  // 1-based
  double lr = 0;
  double train_loss = 0, train_accuracy = 0;  // running averages over the epoch
  double val_loss = 0, val_accuracy = 0;
  double seconds = 0, samples_per_second = 0;
};
nlohmann::json epoch_stats_to_json(const EpochStats& e);
EpochStats epoch_stats_from_json(const nlohmann::json& j);

struct OutputOptions {
  bool quiet = false;
  std::string log_json;  // one JSON object per epoch, appended
  std::string resume_dir;  // the directory --resume takes (default: the output directory)
};

struct TrainResult {
  std::vector<EpochStats> history;  // all epochs, including those before a resume
  int epochs_completed = 0;
  bool interrupted = false;
  double train_seconds = 0;  // this run's training time
  Graph graph;               // the trained architecture, with input normalisation and class names
  std::string layout;        // the activations' memory layout: "channels-last" or "NCHW" (nn/net.h)
  WeightMap weights;         // final weights
};

// Set by the CLI's SIGINT handler; the trainer saves a checkpoint and returns.
extern std::atomic<bool> g_stop_requested;

// Trains `g` (weights from `init` if non-null, else seeded random init) on data.train,
// validating on data.val after every epoch, writing out_dir/checkpoint/ atomically after
// each epoch. If `resume` is true, continues from out_dir/checkpoint.
TrainResult train_model(const Graph& g, const WeightMap* init, const DatasetSplits& data,
                        const TrainConfig& cfg, const std::string& out_dir, bool resume,
                        const OutputOptions& out);

EvalResult evaluate_model(const Graph& g, const WeightMap& w, const Dataset& d,
                          int batch_size = 256, int threads = 0);

// The checkpoint of a training run in out_dir/checkpoint (throws UserError if absent).
struct CheckpointInfo {
  Graph graph;
  TrainConfig config;
  int epochs_completed = 0;
  bool interrupted = false;
  std::vector<EpochStats> history;
  nlohmann::json extra;  // caller data stored with the checkpoint (e.g. CLI arguments)
};
CheckpointInfo read_checkpoint(const std::string& out_dir);
// Extra JSON saved with every checkpoint of train_model (set before calling it).
void set_checkpoint_extra(const nlohmann::json& extra);

// Training samples/s (forward, backward, optimizer step) on batches of `d`, in order:
// for benchmarks. Runs `warmup` steps untimed, then `steps` timed steps. `layout`: "auto" (the
// net's own choice, nn/net.h), "nchw" or "channels-last"; `*used` gets the layout it ran in.
double measure_train_throughput(const Graph& g, const Dataset& d, int batch_size, int steps, int warmup,
                                int threads, uint64_t seed, const std::string& layout = "auto",
                                std::string* used = nullptr);

}  // namespace mcuprune
