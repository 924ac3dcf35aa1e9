// --device: where LibTorch computes (train, prune, eval and quantize's fine-tuning). One device
// per process: every network is built on it and every batch goes to it. This header does not
// include LibTorch (compute_device() is in train_internal.h).
#pragma once

#include <string>

namespace mcuprune {

// auto | cpu | cuda | cuda:N; anything else is a UserError naming `option`.
void check_device_spec(const std::string& spec, const std::string& option = "--device");
// Resolves `spec` on this machine and makes it the process's device; returns its name ("cpu",
// "cuda:0"). "auto": a GPU when this LibTorch has CUDA and one is visible, else the CPU.
// "cuda" in a data-parallel worker: the GPU of its LOCAL_RANK (modulo the GPUs visible).
// "cuda" with a LibTorch built without CUDA (Debian's libtorch-dev), with no GPU visible, or
// cuda:N beyond the GPUs visible is a UserError that says what to do.
std::string use_device(const std::string& spec);
// The name of the process's device ("cpu" until use_device is called).
std::string device_name();
// Whether this binary was built against a LibTorch with CUDA.
bool built_with_cuda();

}  // namespace mcuprune
