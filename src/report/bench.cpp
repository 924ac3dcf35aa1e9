// Benchmark pages: bench/methods.py's CSV as one report per model (page.h).
#include <cmath>
#include <map>

#include "graph/graph.h"
#include "graph/io.h"
#include "report/page.h"

namespace mcuprune {

using nlohmann::json;

namespace {

// RFC 4180: fields separated by commas, quoted fields may hold commas, quotes ("") and newlines.
std::vector<std::vector<std::string>> parse_csv(const std::string& text, const std::string& where) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  int line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
    } else if (c == '"') {
      if (!field.empty())
        throw UserError(where + ":" + std::to_string(line) + ": a quote inside an unquoted field; the CSV is damaged");
      quoted = true;
    } else if (c == ',') {
      row.push_back(field);
      field.clear();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      row.push_back(field);
      field.clear();
      if (!(row.size() == 1 && row[0].empty())) rows.push_back(row);
      row.clear();
      ++line;
    } else {
      field += c;
    }
  }
  if (quoted) throw UserError(where + ": a quoted field is never closed; the CSV is truncated or damaged");
  if (!field.empty() || !row.empty()) {
    row.push_back(field);
    rows.push_back(row);
  }
  if (rows.empty()) throw UserError(where + ": the file is empty; run `make bench` first");
  return rows;
}

json number_or_null(const std::string& s, const std::string& where) {
  if (s.empty()) return nullptr;
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    throw UserError(where + ": \"" + s + "\" is not a number");
  }
  if (used != s.size() || !std::isfinite(v)) throw UserError(where + ": \"" + s + "\" is not a number");
  return v;
}

}  // namespace

std::vector<json> bench_reports_from_csv(const std::string& csv_path) {
  std::string text;
  try {
    text = read_file(csv_path);
  } catch (const std::exception& e) {
    throw UserError(e.what());
  }
  const auto rows = parse_csv(text, csv_path);
  const std::vector<std::string>& head = rows[0];
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < head.size(); ++i) col[head[i]] = i;
  for (const char* need : {"model", "level", "method", "seed", "status", "accuracy_test", "peak_sram_bytes",
                           "flash_bytes"})
    if (!col.count(need))
      throw UserError(csv_path + ": not a benchmark results file of bench/methods.py (no column \"" + need +
                      "\"); give bench/results/methods.csv");
  const std::vector<std::string> numeric = {"seed", "accuracy_test", "accuracy_int8", "ram_bytes", "peak_sram_bytes",
                                            "flash_bytes", "macs", "latency_ms", "params", "train_time_s",
                                            "wall_time_s", "fallback_count"};
  const std::vector<std::string> text_cols = {"method", "level", "status", "reason", "budget_args", "budgets_met",
                                              "fallback_kinds", "run_dir"};
  std::map<std::string, json> by_model;
  std::vector<std::string> order;
  for (size_t r = 1; r < rows.size(); ++r) {
    const auto& row = rows[r];
    const std::string where = csv_path + ":" + std::to_string(r + 1);
    if (row.size() != head.size())
      throw UserError(where + ": " + std::to_string(row.size()) + " fields, the header has " +
                      std::to_string(head.size()) + "; the CSV is damaged");
    const std::string model = row[col["model"]];
    if (!by_model.count(model)) {
      by_model[model] = {{"format", "mcuprune-bench"}, {"version", 1}, {"model", model}, {"source", csv_path},
                         {"runs", json::array()}};
      order.push_back(model);
    }
    json run = json::object();
    for (const auto& k : text_cols)
      if (col.count(k)) run[k] = row[col[k]];
    for (const auto& k : numeric)
      if (col.count(k)) run[k] = number_or_null(row[col[k]], where + " (" + k + ")");
    if (run["seed"].is_null()) throw UserError(where + ": the seed is empty; the CSV is damaged");
    by_model[model]["runs"].push_back(run);
  }
  std::vector<json> out;
  for (const auto& m : order) out.push_back(by_model[m]);
  return out;
}

}  // namespace mcuprune
