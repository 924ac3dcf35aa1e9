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
std::vector<size_t> permutation(size_t n, uint64_t seed);
std::pair<torch::Tensor, torch::Tensor> make_batch(const Dataset& d, const std::vector<size_t>& idx,
                                                   size_t begin, size_t end,
                                                   const InputNormalization& norm,
                                                   const Augmentation* aug, std::mt19937_64* rng);
InputNormalization normalization_of(const Graph& g, const Dataset& d);
void check_data_fits(const Graph& g, const Dataset& d);
double lr_at(const TrainConfig& c, int epoch0, int64_t step_in_epoch, int64_t steps_per_epoch);
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainConfig& c, Net& net);
void set_lr(torch::optim::Optimizer& opt, double lr);
EvalResult evaluate_net(Net& net, const Dataset& d, const InputNormalization& norm, int batch_size);
// The one training epoch of the trainer and the pruner: the epoch's seeded sample order and
// augmentation, the learning-rate schedule, cross-entropy, the optimizer step and the
// progress bar. `net` and `opt` are read again at every step, so a hook may replace them
// (pruning surgery does). Stops early when a stop is requested (Ctrl-C).
struct EpochHooks {
  std::function<void(int64_t step)> before_forward;  // optional
  std::function<void(int64_t step)> after_step;      // optional: after the optimizer step
};
struct EpochTotals {
  double loss_sum = 0;  // summed over samples
  int64_t correct = 0, seen = 0;
  double lr = 0;  // the last step's learning rate
  bool interrupted = false;
};
EpochTotals train_epoch(Net& net, std::unique_ptr<torch::optim::Optimizer>& opt, const Dataset& train,
                        const TrainConfig& cfg, int epoch, const InputNormalization& norm, EpochProgress& bar,
                        const EpochHooks& hooks = {});

// After a checkpoint's state file names its new files: removes the epoch-tagged files
// (weights-*, optimizer-*) of earlier checkpoints in `dir`.
void remove_stale_checkpoint_files(const std::string& dir, const std::vector<std::string>& current);

}  // namespace mcuprune::detail
