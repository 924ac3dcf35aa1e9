// Pieces of the training loop shared by the trainer and the pruner (src/prune): batching,
// evaluation, optimizers, learning-rate schedules. Internal: includes LibTorch.
#pragma once

#include <functional>
#include <memory>
#include <random>
#include <vector>

#include <torch/torch.h>

#include "nn/net.h"
#include "nn/progress.h"
#include "nn/trainer.h"

namespace mcuprune::detail {

void set_threads(int threads);
// The process's device (--device, nn/device.h): every Net is built on it; batches go to it.
torch::Device compute_device();
std::vector<size_t> permutation(size_t n, uint64_t seed);
std::pair<torch::Tensor, torch::Tensor> make_batch(const Dataset& d, const std::vector<size_t>& idx,
                                                   size_t begin, size_t end,
                                                   const InputNormalization& norm,
                                                   const Augmentation* aug, std::mt19937_64* rng);
InputNormalization normalization_of(const Graph& g, const Dataset& d);
void check_data_fits(const Graph& g, const Dataset& d);
// --augment-crop at least as large as the images is refused (the crops would be padding).
void check_augmentation(const TrainConfig& c, const Dataset& d);
double lr_at(const TrainConfig& c, int epoch0, int64_t step_in_epoch, int64_t steps_per_epoch);
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainConfig& c, Net& net);
void set_lr(torch::optim::Optimizer& opt, double lr);
// Data-parallel runs: rank 0's weights and BatchNorm statistics in every worker (no-op alone).
void sync_net_from_rank0(Net& net);
EvalResult evaluate_net(Net& net, const Dataset& d, const InputNormalization& norm, int batch_size);
// The one training epoch of the trainer and the pruner: the epoch's seeded sample order and
// augmentation, the learning-rate schedule, cross-entropy, the optimizer step and the
// progress bar. `net` and `opt` are read again at every step, so a hook may replace them
// (pruning surgery does). Stops early when a stop is requested (Ctrl-C).
// The samples of one batch: rows order[begin, end) of the training set.
struct BatchRows {
  const std::vector<size_t>& order;
  size_t begin, end;
};
struct EpochHooks {
  std::function<void(int64_t step)> before_forward;  // optional
  std::function<void(int64_t step)> after_step;      // optional: after the optimizer step
  // optional: the training loss of a batch in place of cross-entropy (x: the inputs)
  std::function<torch::Tensor(const torch::Tensor& logits, const torch::Tensor& y, const torch::Tensor& x,
                              const BatchRows& rows)>
      loss;
  // optional: the learning rate of a step, given the schedule's
  std::function<double(int64_t step, double scheduled)> lr;
  // optional, data-parallel runs: tensors besides the weights (e.g. pruning's channel gates)
  // whose gradients are summed over the workers in the weights' all-reduce, after the backward
  std::function<std::vector<torch::Tensor>()> summed_gradients;
};
struct EpochTotals {
  double loss_sum = 0;  // summed over samples
  int64_t correct = 0, seen = 0;
  double lr = 0;  // the last step's learning rate
  bool interrupted = false;
};
// A non-finite loss stops it with a UserError (diverged_message).
EpochTotals train_epoch(Net& net, std::unique_ptr<torch::optim::Optimizer>& opt, const Dataset& train,
                        const TrainConfig& cfg, int epoch, const InputNormalization& norm, EpochProgress& bar,
                        const EpochHooks& hooks = {});
// Training that diverged: says in which epoch (0-based `epoch`), what went non-finite, and
// which learning-rate option to lower.
std::string diverged_message(const TrainConfig& cfg, int epoch, const std::string& what);
// Throws UserError (diverged_message) when a weight or a BatchNorm statistic is not finite;
// called before every checkpoint, so that no saved file holds one.
void check_finite_net(Net& net, const TrainConfig& cfg, int epoch);

// Checkpoints are crash-safe: each save writes new files under names no existing file has
// (checkpoint_tag), then the manifest that names them (commit_checkpoint, atomic, last), and
// only then removes every other file of the directory (the previous checkpoint, files of a
// save that was killed, temporary files). A kill at any point leaves the previous manifest
// and every file it names.
// "<base>" or "<base>.<n>": no file "<stem><tag><ext>" exists yet for any of `stems`.
std::string checkpoint_tag(const std::string& dir, const std::string& base, const std::vector<std::string>& stems);
void commit_checkpoint(const std::string& dir, const std::string& manifest_name, const std::string& manifest_text,
                       const std::vector<std::string>& files);
// A file name read from a manifest must be a plain name in the checkpoint directory.
void check_checkpoint_file_name(const std::string& name, const std::string& where);
// The first line of an exception text (LibTorch appends backtraces).
std::string first_line(const std::string& text);
// Before a resume: removes what no manifest names (a killed save's files and temporaries).
void clean_checkpoint_dir(const std::string& dir, const std::string& manifest_name,
                          const std::vector<std::string>& files);

}  // namespace mcuprune::detail
