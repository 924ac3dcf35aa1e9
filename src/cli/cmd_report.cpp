// `mcuprune report` (a run's page from its JSON report) and the page every command writes
// beside its report (docs/reports.md).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "cli/common.h"
#include "graph/graph_json.h"
#include "prune/prune.h"
#include "report/page.h"
#include "resources/profile.h"

namespace mcuprune {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kDefaultBoard = "nucleo-f446re";

std::string str_or(const json& j, const char* key, const std::string& fallback) {
  return j.is_object() && j.contains(key) && j[key].is_string() && !j[key].get<std::string>().empty()
             ? j[key].get<std::string>()
             : fallback;
}

// The model directory a report speaks of: `dir` when given, else where the report says, tried
// as written and beside the report.
std::string locate_model_dir(const std::string& kind, const json& report, const std::string& json_path,
                             const std::string& dir) {
  if (!dir.empty()) return dir;
  const fs::path here = fs::path(json_path).parent_path();
  std::string named;
  if (kind == "train" || kind == "prune") return here.empty() ? "." : here.string();
  if (kind == "quantize") named = report.contains("qat") ? str_or(report["qat"], "model_dir", "") : "";
  if (kind == "deploy") named = str_or(report, "model_dir", "");
  if (named.empty()) return here.empty() ? "." : here.string();
  std::error_code ec;
  if (fs::exists(fs::path(named) / "model.json", ec)) return named;
  // A deploy work directory sits inside its model directory by default; QAT writes its report
  // into its own output directory.
  for (const fs::path& p : {here, here.parent_path()})
    if (!p.empty() && fs::exists(p / "model.json", ec)) return p.string();
  return named;
}

// Profiles of the run's model under the given and the optimal order, with the run's options.
// Notes go on the page; `warnings` (also on the page) are printed too: what the page lacks.
json costs_of_run(const std::string& kind, const json& report, const std::string& model_dir,
                  std::vector<std::string>& notes, std::vector<std::string>& warnings) {
  auto warn = [&](const std::string& m) {
    notes.push_back(m);
    warnings.push_back(m);
  };
  const std::string model_json = (fs::path(model_dir) / "model.json").string();
  std::error_code ec;
  if (!fs::exists(model_json, ec)) {
    warn("The per-operator costs and the memory timeline are not shown: " + model_json +
                    " is missing (the page is drawn from the JSON report alone).");
    return nullptr;
  }
  ProfileOptions o;
  std::string board_name = kDefaultBoard;
  if (kind == "prune") {
    try {
      const PruneConfig c = prune_config_from_json(report.at("config"), "config");
      o = profile_options(c);
      board_name = c.board.empty() ? kDefaultBoard : c.board;
    } catch (const std::exception& e) {
      warn(std::string("The run's pruning options could not be read (") + e.what() +
                      "); costs use the board's defaults.");
      board_name = str_or(report, "board", kDefaultBoard);
    }
  } else if (kind == "deploy") {
    board_name = str_or(report, "board", kDefaultBoard);
    o.runtime = "mcuprune";
    const json& pred = report.at("predicted");
    o.patch = str_or(pred, "patch_request", pred.contains("patch") && pred["patch"].is_object() ? "auto" : "none");
  } else {
    notes.push_back(std::string("Costs are shown on ") + kDefaultBoard + ", the default board: `" + kind +
                    "` has none. `mcuprune profile --model DIR --board NAME --html FILE` draws another.");
  }
  Board board;
  try {
    board = find_board(board_name);
  } catch (const std::exception& e) {
    warn("The per-operator costs and the memory timeline are not shown: the run's board \"" + board_name +
                    "\" cannot be found (" + e.what() + ").");
    return nullptr;
  }
  try {
    const Graph g = load_graph(model_json);
    o.optimal_order = true;
    const Profile optimal = profile_graph(g, board, o);
    ProfileOptions og = o;
    og.optimal_order = false;
    og.patch = "none";
    const Profile given = profile_graph(g, board, og);
    json costs = model_costs_json(given, optimal);
    // The resource models may have changed since the run: say so where the numbers differ.
    if (kind == "prune" && report.contains("resources") && report["resources"].contains("after")) {
      const json& after = report["resources"]["after"];
      for (const char* k : {"flash_bytes", "ram_bytes", "macs"})
        if (after.contains(k) && after[k].is_number() &&
            after[k].get<double>() != costs["totals"][k].get<double>())
          warn(std::string("The per-operator costs are recomputed with this version's resource models: "
                                      "total ") + k + " " + costs["totals"][k].dump() + ", the run's report says " +
                          after[k].dump() + ".");
    }
    return costs;
  } catch (const std::exception& e) {
    warn(std::string("The per-operator costs and the memory timeline are not shown: ") + e.what());
    return nullptr;
  }
}

std::string title_of(const std::string& kind, const json& r) {
  auto name = [&](const char* key) {
    return r.contains(key) && r[key].is_object() ? str_or(r[key], "name", "model") : std::string("model");
  };
  if (kind == "prune") return "prune: " + name("model_after") + " on " + str_or(r, "board", "?");
  if (kind == "train") return "train: " + name("model");
  if (kind == "quantize") return "quantize: " + name("model");
  if (kind == "deploy") return "deploy on " + str_or(r, "board", "?");
  if (kind == "profile") return "profile: " + name("model");
  if (kind == "bench") return "benchmark: " + str_or(r, "model", "?");
  return kind;
}

// Refuses to replace a file at `path` that mcuprune did not write.
void refuse_foreign_page(const std::string& path, const std::string& how) {
  std::error_code ec;
  if (fs::exists(path, ec) && !is_mcuprune_page(path))
    throw UserError(path + " exists and was not written by mcuprune; it is left alone: " + how);
}

struct ReportArgs {
  std::string path, out, bench;
};

void run_report(const ReportArgs& a) {
  if (!a.bench.empty()) {
    if (a.out.empty()) throw UserError("--bench needs --out DIR (where the pages go, one per model)");
    std::error_code ec;
    fs::create_directories(a.out, ec);
    if (ec) throw UserError("cannot create --out " + a.out + ": " + ec.message());
    for (const json& r : bench_reports_from_csv(a.bench)) {
      const std::string model = r["model"];
      const std::string json_path = (fs::path(a.out) / (model + ".json")).string();
      const std::string html_path = (fs::path(a.out) / (model + ".html")).string();
      refuse_foreign_page(html_path, "give another --out");
      write_report(json_path, r);
      Page p{report_kind(r, json_path), title_of("bench", r), json_path, r, nullptr, {}};
      write_page(html_path, p);
      std::printf("%s: %zu runs -> %s\n", model.c_str(), r["runs"].size(), html_path.c_str());
    }
    return;
  }
  if (a.path.empty()) throw UserError("give a run directory or a JSON report (or --bench CSV --out DIR)");
  std::error_code ec;
  std::string json_path = a.path;
  if (fs::is_directory(a.path, ec)) {
    json_path.clear();
    for (const char* n : {"report.json", "quant_report.json", "deploy_report.json"})
      if (fs::is_regular_file(fs::path(a.path) / n, ec)) {
        json_path = (fs::path(a.path) / n).string();
        break;
      }
    if (json_path.empty())
      throw UserError(a.path + " holds no report.json, quant_report.json or deploy_report.json; give the directory "
                      "of a train, prune, quantize --qat-epochs or deploy run, or the JSON report itself");
  } else if (!fs::exists(a.path, ec)) {
    throw UserError(a.path + " does not exist; give a run directory or a JSON report");
  }
  const json report = read_report_file(json_path);
  std::string html = a.out;
  if (html.empty()) {
    const fs::path dir = fs::path(json_path).parent_path();
    const std::string stem = fs::path(json_path).stem().string();
    // report.html, unless a report.json of another command sits in the same directory.
    html = (dir / (stem == "report" || !fs::exists(dir / "report.json", ec) ? "report.html" : stem + ".html")).string();
  }
  refuse_foreign_page(html, "give --out FILE");
  write_run_page(json_path, report, "", html);
  std::printf("%s\n", html.c_str());
}

}  // namespace

std::string write_run_page(const std::string& json_path, const json& report, const std::string& model_dir,
                           const std::string& html_path) {
  const std::string kind = report_kind(report, json_path);
  Page p;
  p.kind = kind;
  p.title = title_of(kind, report);
  p.source = json_path;
  p.report = report;
  std::vector<std::string> warnings;
  p.costs = costs_of_run(kind, report, locate_model_dir(kind, report, json_path, model_dir), p.notes, warnings);
  const std::string path =
      html_path.empty() ? (fs::path(json_path).parent_path() / "report.html").string() : html_path;
  write_page(path, p);
  for (const auto& n : warnings) std::fprintf(stderr, "report page: %s\n", n.c_str());
  return path;
}

void write_profile_page(const std::string& path, const Profile& used, const Profile& given, const Profile& optimal) {
  refuse_foreign_page(path, "give another --html FILE");
  const json report = profile_to_json(used);
  json costs = model_costs_json(given, optimal);
  costs.erase("layers");  // the page lists the report's own operators
  Page p{report_kind(report, "profile"), title_of("profile", report), "mcuprune profile", report, costs, {}};
  // What the page does not draw stays in `profile --json`: the instruction model's figures and
  // the live tensors by name (the timeline draws them from `costs`). A third of a large page.
  for (json& op : p.report["operators"])
    for (const char* k : {"model_figures", "live_tensors", "live_tensor_bytes"}) op.erase(k);
  write_page(path, p);
}

void add_report_command(CLI::App& app) {
  auto a = std::make_shared<ReportArgs>();
  CLI::App* c = app.add_subcommand(
      "report",
      "Draw a run's report as one self-contained HTML page (opens offline): the verdict, budgets,\n"
      "per-layer costs, the memory timeline and the training curves, from the run's JSON report,\n"
      "so that old runs get the current look. train, prune, quantize --qat-epochs and deploy write\n"
      "the page themselves (report.html beside their JSON report) unless --no-html.\n\n"
      "Examples:\n"
      "  mcuprune report runs/vgg-pruned                  # -> runs/vgg-pruned/report.html\n"
      "  mcuprune report runs/vgg-pruned/deploy-nucleo-f446re-qemu\n"
      "  mcuprune report runs/x/report.json --out /tmp/x.html\n"
      "  mcuprune report --bench bench/results/methods.csv --out bench/results/pages\n");
  c->add_option("path", a->path, "run directory or JSON report");
  c->add_option("--out", a->out, "the page (default: report.html beside the JSON report); with --bench, a directory");
  c->add_option("--bench", a->bench, "bench/methods.py's CSV: one page per model (accuracy against peak SRAM and flash)");
  c->callback([a] { run_report(*a); });
}

}  // namespace mcuprune
