// Report pages: JSON checks (foreign and damaged reports are clear errors), the page's
// assembly (nothing in the data can end its script element) and the benchmark CSV reader.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "graph/graph.h"
#include "report/assets.h"
#include "report/page.h"

using namespace mcuprune;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

json minimal_prune() {
  return json::parse(R"({"format": "mcuprune-report", "version": 1, "command": "prune", "method": "diff",
    "board": "nucleo-f446re", "config": {}, "accuracy": {"test": 0.8, "val": 0.8}, "budgets_met": true,
    "budgets": [{"resource": "ram", "unit": "bytes", "budget": 100, "before": 200, "after": 90, "fits": true}],
    "layers": [{"name": "c", "op": "conv2d", "channels_before": 8, "channels_after": 4}], "fallbacks": [],
    "resources": {"before": {"ram_bytes": 1, "flash_bytes": 1, "macs": 1, "latency_ms": 1, "params": 1, "peak_sram_bytes": 1},
                  "after": {"ram_bytes": 1, "flash_bytes": 1, "macs": 1, "latency_ms": 1, "params": 1, "peak_sram_bytes": 1}},
    "model_before": {}, "model_after": {},
    "history": [{"epoch": 1, "train_loss": 1.0, "train_accuracy": 0.5, "val_loss": null, "val_accuracy": 0.5}]})");
}

std::string error_of(const json& j) {
  try {
    report_kind(j, "r.json");
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

std::string temp_file(const std::string& name, const std::string& text) {
  const fs::path p = fs::temp_directory_path() / ("mcuprune_report_test_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(p, std::ios::binary) << text;
  return p.string();
}

}  // namespace

TEST(ReportKind, KnowsEveryCommandsReport) {
  EXPECT_EQ(report_kind(minimal_prune(), "r.json"), "prune");
  json train = {{"format", "mcuprune-report"}, {"command", "train"}, {"model", json::object()},
                {"accuracy", {{"test", 0.5}}}, {"history", json::array()}};
  EXPECT_EQ(report_kind(train, "r.json"), "train");
  // deploy reports written before they carried "format"
  json deploy = {{"command", "deploy"}, {"samples", 3}, {"bit_exact_samples", 3}, {"board", "b"}, {"model_dir", "m"},
                 {"predicted", {{"arena_bytes", 1}, {"model_constant_bytes", 1}, {"profile_flash_bytes", 1},
                                {"profile_ram_bytes", 1}}}};
  EXPECT_EQ(report_kind(deploy, "r.json"), "deploy");
}

TEST(ReportKind, ForeignJsonIsAClearError) {
  EXPECT_NE(error_of(json::array()).find("not an mcuprune report (the file holds array"), std::string::npos);
  EXPECT_NE(error_of(json{{"name", "x"}}).find("no \"format\" key"), std::string::npos);
  EXPECT_NE(error_of(json{{"format", "mcuprune-model"}}).find("\"format\" is \"mcuprune-model\""), std::string::npos);
  EXPECT_NE(error_of(json{{"format", "mcuprune-report"}, {"command", "eval"}}).find("an eval report has no page"),
            std::string::npos);
  EXPECT_NE(error_of(json{{"format", "mcuprune-report"}, {"command", "dance"}}).find("\"command\" is \"dance\""),
            std::string::npos);
}

TEST(ReportKind, DamagedReportNamesTheKey) {
  json j = minimal_prune();
  j.erase("budgets");
  EXPECT_NE(error_of(j).find("damaged prune report: budgets is missing"), std::string::npos) << error_of(j);
  j = minimal_prune();
  j["budgets"][0]["after"] = "90";
  EXPECT_NE(error_of(j).find("budgets[0].after must be a number, not string"), std::string::npos) << error_of(j);
  j = minimal_prune();
  j["history"][0]["val_accuracy"] = json::array();
  EXPECT_NE(error_of(j).find("history[0].val_accuracy"), std::string::npos);
  j = minimal_prune();
  j["resources"]["after"].erase("flash_bytes");
  EXPECT_NE(error_of(j).find("resources.after.flash_bytes is missing"), std::string::npos);
}

TEST(ReadReportFile, TruncatedAndEmptyFilesAreClearErrors) {
  const std::string whole = minimal_prune().dump();
  const std::string cut = temp_file("cut.json", whole.substr(0, whole.size() / 2));
  try {
    read_report_file(cut);
    FAIL() << "a truncated report was read";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("not valid JSON"), std::string::npos) << e.what();
  }
  const std::string empty = temp_file("empty.json", "  \n");
  EXPECT_THROW(read_report_file(empty), UserError);
  EXPECT_THROW(read_report_file("/nonexistent/report.json"), UserError);
  fs::remove(cut);
  fs::remove(empty);
}

TEST(RenderPage, DataCannotCloseItsScriptElement) {
  json j = minimal_prune();
  j["layers"][0]["name"] = "</script><script>alert(1)</script><!--";
  j["method"] = "a\u2028b";
  Page p{report_kind(j, "r.json"), "t </title>", "r.json", j, nullptr, {"note"}};
  const std::string html = render_page(p);
  const size_t data = html.find("id=\"mcuprune-data\">");
  ASSERT_NE(data, std::string::npos);
  const size_t end = html.find("</script>", data);
  const std::string payload = html.substr(data + 19, end - data - 19);
  EXPECT_EQ(payload.find('<'), std::string::npos);
  EXPECT_EQ(payload.find("\xe2\x80\xa8"), std::string::npos);
  // The payload is the report, unchanged once parsed.
  EXPECT_EQ(json::parse(payload)["report"], j);
  EXPECT_NE(html.find("<title>t &lt;/title&gt;</title>"), std::string::npos);
  // Everything inline: outside the script elements' text, no src= or <link> that would load anything.
  std::string markup;
  for (size_t at = 0;;) {
    const size_t open = html.find("<script", at);
    markup += html.substr(at, open == std::string::npos ? std::string::npos : html.find('>', open) + 1 - at);
    if (open == std::string::npos) break;
    at = html.find("</script>", open);
    ASSERT_NE(at, std::string::npos);
  }
  EXPECT_EQ(markup.find("src="), std::string::npos);
  EXPECT_EQ(markup.find("<link"), std::string::npos);
  EXPECT_NE(html.find("connect-src 'none'"), std::string::npos);
  // The chart library and its licence are in the page.
  EXPECT_NE(html.find(report_chart_library_version()), std::string::npos);
  EXPECT_NE(html.find("Apache License"), std::string::npos);
}

TEST(RenderPage, MarkerTellsOurPagesFromOthers) {
  Page p{"prune", "t", "r.json", minimal_prune(), nullptr, {}};
  const std::string ours = temp_file("ours.html", render_page(p));
  const std::string theirs = temp_file("theirs.html", "<!DOCTYPE html><html><body>mine</body></html>");
  EXPECT_TRUE(is_mcuprune_page(ours));
  EXPECT_FALSE(is_mcuprune_page(theirs));
  EXPECT_FALSE(is_mcuprune_page("/nonexistent.html"));
  fs::remove(ours);
  fs::remove(theirs);
}

TEST(BenchCsv, QuotedFieldsAndOneReportPerModel) {
  const std::string csv = temp_file(
      "m.csv",
      "model,level,method,seed,status,accuracy_test,peak_sram_bytes,flash_bytes,fallback_kinds\n"
      "vgg,unpruned,unpruned,1,ok,0.86,25664,993208,\n"
      "vgg,tight,diff,1,ok,0.85,9000,300000,\"greedy-fit, twice\"\n"
      "resnet8,tight,diff,2,failed,,,,\n");
  const auto reports = bench_reports_from_csv(csv);
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[0]["model"], "vgg");
  ASSERT_EQ(reports[0]["runs"].size(), 2u);
  EXPECT_EQ(reports[0]["runs"][1]["fallback_kinds"], "greedy-fit, twice");
  EXPECT_DOUBLE_EQ(reports[0]["runs"][1]["peak_sram_bytes"].get<double>(), 9000);
  EXPECT_TRUE(reports[1]["runs"][0]["accuracy_test"].is_null());
  EXPECT_EQ(report_kind(reports[1], "x"), "bench");
  fs::remove(csv);
}

TEST(BenchCsv, DamagedCsvIsAClearError) {
  const std::string a = temp_file("a.csv", "model,level\nvgg,x\n");
  EXPECT_THROW(bench_reports_from_csv(a), UserError);  // not methods.py's columns
  const std::string b = temp_file(
      "b.csv", "model,level,method,seed,status,accuracy_test,peak_sram_bytes,flash_bytes\nvgg,x,diff,1,ok,0.5,1\n");
  try {
    bench_reports_from_csv(b);
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find(":2: 7 fields, the header has 8"), std::string::npos) << e.what();
  }
  const std::string c = temp_file(
      "c.csv", "model,level,method,seed,status,accuracy_test,peak_sram_bytes,flash_bytes\nvgg,x,diff,1,ok,high,1,2\n");
  EXPECT_THROW(bench_reports_from_csv(c), UserError);
  const std::string d = temp_file("d.csv", "model,level\n\"vgg,x\n");
  EXPECT_THROW(bench_reports_from_csv(d), UserError);
  for (const auto& f : {a, b, c, d}) fs::remove(f);
}
