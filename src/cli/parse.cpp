#include "cli/parse.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <regex>

namespace mcuprune {

Shape parse_shape(const std::string& text, const std::string& option) {
  static const std::regex re(R"(^\s*(\d{1,9})\s*[xX,]\s*(\d{1,9})\s*[xX,]\s*(\d{1,9})\s*$)");
  std::smatch m;
  if (!std::regex_match(text, m, re))
    throw UserError(option + " '" + text + "' is not a shape; write HxWxC, e.g. 28x28x1 or 49x10x1");
  Shape s{std::stoi(m[1]), std::stoi(m[2]), std::stoi(m[3])};
  if (s.h < 1 || s.w < 1 || s.c < 1 || s.h > 4096 || s.w > 4096 || s.c > 4096)
    throw UserError(option + " '" + text + "': each dimension must be in 1..4096");
  return s;
}

namespace {

constexpr double kLargest = 9e15;  // well inside int64 and exact in a double

struct Scaled {
  double number;
  std::string unit;
};

Scaled split(const std::string& text, const std::string& option, const std::string& what, const std::string& forms) {
  static const std::regex re(R"(^\s*([0-9]{1,18}(\.[0-9]{0,18})?|\.[0-9]{1,18})\s*([A-Za-z]*)\s*$)");
  std::smatch m;
  if (!std::regex_match(text, m, re))
    throw UserError(option + " '" + text + "' is not a valid " + what + "; accepted forms: " + forms);
  return {std::stod(m[1]), m[3]};
}

int64_t checked(double v, const std::string& text, const std::string& option, const std::string& forms,
                double least = 1) {
  if (!(v >= least) || v > kLargest)
    throw UserError(option + " '" + text + "' must be at least " + (least > 0 ? "1" : "0") +
                    " and at most 9e15; accepted forms: " + forms);
  return int64_t(std::llround(v));
}

std::string with_commas(double v) {
  std::string digits = std::to_string(int64_t(std::llround(v))), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

int64_t parse_size(const std::string& text, const std::string& option, bool allow_zero) {
  const std::string forms = "64KiB, 0.5MiB, 1GiB, 512B or a number of bytes";
  Scaled s = split(text, option, "size", forms);
  const std::string& u = s.unit;
  double mult = 0;
  if (u.empty() || u == "B" || u == "b") mult = 1;
  else if (u == "KiB" || u == "kiB") mult = 1024;
  else if (u == "MiB") mult = 1024.0 * 1024;
  else if (u == "GiB") mult = 1024.0 * 1024 * 1024;
  if (mult == 0) {
    // Decimal-looking units: MCU datasheets use them for powers of 1024, SI for powers of
    // 1000. Refuse rather than guess.
    double binary = 0, decimal = 0;
    std::string bin_unit;
    if (u == "K" || u == "k" || u == "KB" || u == "kB" || u == "Kb" || u == "kb")
      binary = 1024, decimal = 1e3, bin_unit = "KiB";
    else if (u == "M" || u == "MB" || u == "Mb")
      binary = 1024.0 * 1024, decimal = 1e6, bin_unit = "MiB";
    else if (u == "G" || u == "GB" || u == "Gb")
      binary = 1024.0 * 1024 * 1024, decimal = 1e9, bin_unit = "GiB";
    if (binary > 0) {
      char num[64];
      std::snprintf(num, sizeof num, "%g", s.number);
      throw UserError(option + " '" + text + "' is ambiguous: " + with_commas(s.number * binary) + " bytes (" + num +
                      " " + bin_unit + ", as MCU datasheets mean '" + u + "') or " +
                      with_commas(s.number * decimal) + " bytes (SI); write " + num + bin_unit + " or " +
                      std::to_string(int64_t(std::llround(s.number * decimal))) + " (bytes)");
    }
    throw UserError(option + " '" + text + "': unknown unit '" + u + "'; accepted forms: " + forms);
  }
  return checked(s.number * mult, text, option, forms, allow_zero ? 0 : 1);
}

int64_t parse_count(const std::string& text, const std::string& option) {
  const std::string forms = "5M, 200k, 1.5G or a plain number";
  Scaled s = split(text, option, "count", forms);
  const std::string& u = s.unit;
  double mult = 0;
  if (u.empty()) mult = 1;
  else if (u == "k" || u == "K") mult = 1e3;
  else if (u == "M") mult = 1e6;
  else if (u == "G") mult = 1e9;
  if (mult == 0) throw UserError(option + " '" + text + "': unknown unit '" + u + "'; accepted forms: " + forms);
  return checked(s.number * mult, text, option, forms);
}

std::vector<float> parse_channel_values(const std::string& text, const std::string& option, int channels,
                                        bool positive) {
  const std::string form = "one number, or one per input channel separated by commas (e.g. 0.5,0.5,0.5)";
  std::vector<float> v;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    char* end = nullptr;
    const double x = item.empty() ? NAN : std::strtod(item.c_str(), &end);
    if (item.empty() || end != item.c_str() + item.size() || !std::isfinite(x) || std::fabs(x) > 1e6)
      throw UserError(option + " '" + text + "': '" + item + "' is not a finite number; give " + form);
    if (positive && !(x > 0)) throw UserError(option + " '" + text + "': values must be > 0");
    v.push_back(float(x));
    start = comma + 1;
  }
  if (v.size() == 1) v.assign(size_t(channels), v[0]);
  if (int(v.size()) != channels)
    throw UserError(option + " '" + text + "': " + std::to_string(v.size()) + " values for " +
                    std::to_string(channels) + " input channels; give " + form);
  return v;
}

namespace {
std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}
}  // namespace

Budgets parse_budgets(const BudgetOptions& o) {
  Budgets b;
  if (o.ram) b[Resource::Ram] = double(parse_size(*o.ram, "--ram"));
  if (o.flash) b[Resource::Flash] = double(parse_size(*o.flash, "--flash"));
  if (o.macs) b[Resource::Macs] = double(parse_count(*o.macs, "--macs"));
  if (o.latency_ms) {
    if (!(*o.latency_ms > 0) || !std::isfinite(*o.latency_ms))
      throw UserError("--latency-ms must be a number of milliseconds > 0 (e.g. 50), got " + format_number(*o.latency_ms));
    b[Resource::Latency] = *o.latency_ms;
  }
  return b;
}

}  // namespace mcuprune
