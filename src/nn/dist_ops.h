// Tensor collectives for data-parallel training (dist.h). Internal: includes LibTorch.
#pragma once

#include <torch/torch.h>

#include "nn/dist.h"

namespace mcuprune {

// Sum over the workers, in place.
void dist_allreduce_(torch::Tensor& t);
// y = the sum of x over the workers; its gradient is the sum of the workers' gradients
// (so that a statistic computed from it, as in BatchNorm, backpropagates to every worker).
torch::Tensor dist_allreduce_autograd(const torch::Tensor& x);
// Rank 0's values in every worker's tensors (in place).
void dist_broadcast_(std::vector<torch::Tensor>& tensors);
// The gradients of `params` summed over the workers (one flat buffer per device and dtype), in place.
void dist_allreduce_grads(const std::vector<torch::Tensor>& params);

}  // namespace mcuprune
