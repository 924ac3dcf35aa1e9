// The process's compute device (device.h).
#include "nn/device.h"

#include <torch/torch.h>

#include "graph/graph.h"
#include "nn/dist.h"
#include "nn/train_internal.h"

namespace mcuprune {

namespace {
torch::Device g_device(torch::kCPU);

std::string name_of(const torch::Device& d) { return d.is_cuda() ? "cuda:" + std::to_string(int(d.index())) : "cpu"; }
}  // namespace

bool built_with_cuda() {
#ifdef MCUPRUNE_TORCH_CUDA
  return true;
#else
  return false;
#endif
}

void check_device_spec(const std::string& spec, const std::string& option) {
  if (spec == "auto" || spec == "cpu" || spec == "cuda") return;
  if (spec.rfind("cuda:", 0) == 0 && spec.size() > 5 && spec.size() <= 8 &&
      spec.find_first_not_of("0123456789", 5) == std::string::npos)
    return;
  throw UserError(option + " must be auto, cpu, cuda or cuda:N (N: a GPU's index, e.g. cuda:0), got \"" + spec + "\"");
}

std::string use_device(const std::string& spec) {
  check_device_spec(spec);
  const int gpus = built_with_cuda() ? int(torch::cuda::device_count()) : 0;
  if (spec == "cpu" || (spec == "auto" && gpus == 0)) {
    g_device = torch::Device(torch::kCPU);
    return name_of(g_device);
  }
  if (!built_with_cuda())
    throw UserError("--device " + spec + " needs a LibTorch built with CUDA, and this mcuprune was built against one "
                    "without it (Debian's libtorch-dev is CPU-only); build it against a CUDA LibTorch, e.g. the one "
                    "inside a pip-installed torch: cmake -S . -B build-cuda -DCMAKE_PREFIX_PATH=\"$(python3 -c "
                    "'import torch; print(torch.utils.cmake_prefix_path)')\" (docs/distributed.md, GPUs), or use "
                    "--device cpu");
  if (gpus == 0)
    throw UserError("--device " + spec + ": this LibTorch has CUDA but no GPU is visible (check nvidia-smi and "
                    "CUDA_VISIBLE_DEVICES), or use --device cpu");
  int index = dist().local_rank % gpus;
  if (spec.rfind("cuda:", 0) == 0) {
    index = std::stoi(spec.substr(5));
    if (index >= gpus)
      throw UserError("--device " + spec + ": only " + std::to_string(gpus) + " GPU(s) are visible (cuda:0 to cuda:" +
                      std::to_string(gpus - 1) + ")");
  }
  g_device = torch::Device(torch::kCUDA, int8_t(index));
  return name_of(g_device);
}

std::string device_name() { return name_of(g_device); }

namespace detail {
torch::Device compute_device() { return g_device; }
}  // namespace detail

}  // namespace mcuprune
