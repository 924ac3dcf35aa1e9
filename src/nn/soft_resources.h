// The differentiable instance of the resource formulas (src/resources/formulas.h): channel
// counts are autograd tensors (soft widths), so flash, MACs, latency and peak SRAM are
// differentiable in them. Only the number type is defined here; the formulas are shared
// with the exact integer model.
#pragma once

#include <torch/torch.h>

#include "resources/formulas.h"

namespace mcuprune {

template <>
struct NumOps<torch::Tensor> {
  using Real = torch::Tensor;
  static torch::Tensor zero(const torch::Tensor& like) { return torch::zeros({}, like.options()); }
  // The exact max: its gradient goes to the bottleneck step only (METHOD.md section 4).
  static torch::Tensor max(const torch::Tensor& a, const torch::Tensor& b) { return torch::maximum(a, b); }
  static torch::Tensor real(const torch::Tensor& v) { return v; }
  // Rounded up to a multiple of m in value (so that integer widths give the exact model's
  // figures) with the gradient of v itself (straight through the step).
  static torch::Tensor round_up(const torch::Tensor& v, int64_t m) {
    const torch::Tensor d = v.detach();
    return v + (torch::ceil(d / double(m) - 1e-6) * double(m) - d);
  }
};

// Smooth alternative to the peak: temperature * logsumexp(step / temperature), which
// spreads pressure over steps near the bottleneck; >= the true max, equal as T -> 0.
inline torch::Tensor smooth_peak(const std::vector<torch::Tensor>& steps, double temperature) {
  torch::Tensor s = torch::stack(steps);
  return torch::logsumexp(s / temperature, 0) * temperature;
}

}  // namespace mcuprune
