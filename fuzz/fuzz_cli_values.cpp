// Command-line values: sizes (64KiB), counts (5M), shapes (28x28x1), per-channel lists.
#include "cli/parse.h"
#include "fuzz_common.h"

using namespace mcuprune;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::expect_clear_error([&] { (void)parse_size(text, "--ram"); });
  fuzz::expect_clear_error([&] { (void)parse_count(text, "--macs"); });
  fuzz::expect_clear_error([&] { (void)parse_shape(text, "--input"); });
  fuzz::expect_clear_error([&] { (void)parse_channel_values(text, "--input-mean", 3, false); });
  return 0;
}
