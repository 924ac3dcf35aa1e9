#include "cli/allocator.h"

#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace mcuprune {

namespace {
std::string g_setting;

#if defined(__GLIBC__)
bool user_set_malloc_options() {
  for (const char* name : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_",
                           "MALLOC_MMAP_MAX_", "MALLOC_ARENA_MAX", "MALLOC_ARENA_TEST"})
    if (std::getenv(name) != nullptr) return true;
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  return tunables != nullptr && std::strstr(tunables, "glibc.malloc.") != nullptr;
}
#endif
}  // namespace

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MCUPRUNE_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define MCUPRUNE_ASAN 1
#endif

void tune_allocator_for_training() {
#if defined(MCUPRUNE_ASAN)
  // AddressSanitizer brings its own allocator; glibc's settings do not reach it.
  g_setting = "AddressSanitizer's (a sanitizer build; glibc's settings do not apply)";
#elif defined(__GLIBC__)
  if (user_set_malloc_options()) {
    g_setting = "glibc, as set by the environment (MALLOC_* or GLIBC_TUNABLES)";
    return;
  }
  // No block is mmap'ed on its own (M_MMAP_MAX 0): a threshold alone would not do, since it
  // is capped at 32 MiB and the main heap, grown in small steps before main(), has no room
  // for larger tensors at first, so each of them was mapped and unmapped again (mobilenetv2
  // at batch 64 asks for 37-39 MiB blocks). glibc still maps memory where the heap cannot
  // grow. The top pad must exceed 64 MiB, the size of the heaps that hold the worker threads'
  // arenas: glibc unmaps such a heap whole once it is free unless the pad keeps it (measured:
  // 12.5 s of system time per mobilenetv2 epoch at a 64 MiB pad, 3.0 s at 128 MiB).
  constexpr int kTopPad = 128 << 20;
  const bool ok = mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, 0x7fffffff) == 1 &&
                  mallopt(M_TOP_PAD, kTopPad) == 1;
  g_setting = ok ? "glibc, freed memory kept (no mmap per block, trim threshold 2 GiB, top pad 128 MiB)"
                 : "glibc, its defaults (mallopt refused the training settings)";
#else
  g_setting = "the C library's defaults";
#endif
}

const std::string& allocator_setting() { return g_setting; }

}  // namespace mcuprune
