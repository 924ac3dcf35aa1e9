// Shared by the libFuzzer targets: every parser must either succeed or throw UserError (the
// clear error a user sees). Any other exception, a crash, a leak or undefined behaviour is a
// finding: libFuzzer (with AddressSanitizer and UndefinedBehaviorSanitizer) stops on it.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "graph/graph.h"

namespace mcuprune::fuzz {

// Runs f; a UserError is the expected outcome for bad input.
template <class F>
void expect_clear_error(F&& f) {
  try {
    f();
  } catch (const UserError&) {
  }
}

// A private scratch directory of this process (the readers take paths).
inline const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("mcuprune_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

inline std::string put(const std::string& name, const uint8_t* data, size_t size) {
  const auto p = scratch() / name;
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(data), std::streamsize(size));
  return p.string();
}

}  // namespace mcuprune::fuzz
