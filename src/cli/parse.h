// Parsing of command-line values shared by the subcommands: shapes, sizes, counts and the
// budget options (--ram, --flash, --macs, --latency-ms) that `profile` and `prune` share.
// Torch-free and CLI11-free (its own library, unit-tested).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "resources/budget.h"

namespace mcuprune {

// "28x28x1" -> Shape; throws UserError showing the expected form.
Shape parse_shape(const std::string& text, const std::string& option);

// A size in bytes: 64KiB, 0.5MiB, 1GiB, 512B or a bare number of bytes. "64KB", "64K",
// "2MB", "2M" are refused: MCU datasheets mean 65,536 bytes by "64 KB" and SI means 64,000,
// so the error shows both readings and the unambiguous forms. `option` names the option in
// errors.
// `allow_zero`: 0 is a valid size (a reservation), not only >= 1 (a budget).
int64_t parse_size(const std::string& text, const std::string& option, bool allow_zero = false);
// A count (MACs): 5M, 200k, 1.5G (powers of 1000) or a bare number.
int64_t parse_count(const std::string& text, const std::string& option);

// "0.485,0.456,0.406" (one value per channel) or one value for every channel -> `channels`
// finite floats; positive if `positive`. Throws UserError naming the option.
std::vector<float> parse_channel_values(const std::string& text, const std::string& option, int channels,
                                        bool positive);

// The budget options as given (unset: not given; an empty value given is an error).
struct BudgetOptions {
  std::optional<std::string> ram, flash, macs;
  std::optional<double> latency_ms;
};
// Parses them; throws UserError naming the option.
Budgets parse_budgets(const BudgetOptions& o);

}  // namespace mcuprune
