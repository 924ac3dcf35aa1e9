// Self-contained HTML reports (docs/reports.md): one file per run with the chart library, the
// page's script and the run's data inline, so that it opens offline and sends no request.
// The page is drawn in the browser from the JSON report it embeds; this layer checks that JSON,
// adds what the report does not hold (the model's per-operator costs and memory timeline,
// recomputed with the current resource models) and writes the file. No LibTorch.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mcuprune {

struct Profile;

// What made a JSON report: "train", "prune", "quantize", "deploy", "profile" or "bench".
// Throws UserError naming `where` when the JSON is not an mcuprune report or misses a key the
// page needs (a damaged or foreign file), so that no broken page is written.
std::string report_kind(const nlohmann::json& j, const std::string& where);
// Reads and parses a JSON report; a missing, empty or malformed file is a UserError.
nlohmann::json read_report_file(const std::string& path);

// The model's costs as a page shows them: per-operator rows in the optimal order and the
// memory timeline (live tensors per step) under the given and the optimal operator order.
nlohmann::json model_costs_json(const Profile& given, const Profile& optimal);

struct Page {
  std::string kind;                // report_kind's answer
  std::string title;               // <title>
  std::string source;              // the JSON report's path, shown on the page
  nlohmann::json report;           // the JSON report, verbatim
  nlohmann::json costs = nullptr;  // model_costs_json, or null
  std::vector<std::string> notes;  // shown under the verdict (fallbacks the page itself needed)
};

// The page: HTML with the chart library, the page script and `page` as JSON inline.
std::string render_page(const Page& page);
// Writes the page atomically; the file starts with a marker that says mcuprune made it.
void write_page(const std::string& path, const Page& page);
// Whether the file at `path` is a page mcuprune wrote (it may be replaced).
bool is_mcuprune_page(const std::string& path);

// Benchmark pages: bench/methods.py's CSV (one row per run) as one JSON report per model
// ("format": "mcuprune-bench"): the runs with their accuracy, peak SRAM and flash per method.
std::vector<nlohmann::json> bench_reports_from_csv(const std::string& csv_path);

// The embedded chart library's name, version and licence (docs/reports.md).
std::string chart_library_notice();

}  // namespace mcuprune
