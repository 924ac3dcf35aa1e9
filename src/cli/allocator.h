// The C library's allocator, set up for training (README.md, "Memory allocator").
//
// glibc hands every block of 128 KiB or more (its default M_MMAP_THRESHOLD, which grows only
// up to the largest block freed) straight back to the kernel when it is freed, and trims the
// heap's top beyond 128 KiB. A training step allocates and frees activations and gradients of
// megabytes hundreds of times, so each step maps fresh pages and faults every one of them in
// again. Where page faults are dear (virtual machines above all) that is most of a step's time:
// mobilenetv2's epoch spent 11-14 s of 22-27 s in the kernel here (README.md, "Memory allocator").
#pragma once

#include <string>

namespace mcuprune {

// Keeps freed memory for reuse: blocks of any size come from the heap (mmap only where it
// cannot grow), the heap is trimmed only past 2 GiB of free memory at its top, and the worker
// threads' heaps are kept; a training process stays near its peak memory instead of returning it.
// Leaves glibc's settings alone when the user gave any of its MALLOC_* variables or
// GLIBC_TUNABLES with glibc.malloc.*, and does nothing on other C libraries. Call once, first
// thing in main.
void tune_allocator_for_training();

// What that call did, for reports and bench output ("" before it).
const std::string& allocator_setting();

}  // namespace mcuprune
