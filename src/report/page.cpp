// Report pages: the JSON checks, the page's assembly and its atomic write (page.h).
#include "report/page.h"

#include <fstream>
#include <sstream>

#include "graph/graph.h"
#include "graph/io.h"
#include "report/assets.h"

namespace mcuprune {

using nlohmann::json;

namespace {

constexpr const char* kMarker = "<!-- mcuprune-report-page -->";

enum class T { Object, Array, Number, NumberOrNull, String, Bool };

const char* type_name(T t) {
  switch (t) {
    case T::Object: return "an object";
    case T::Array: return "a list";
    case T::Number: return "a number";
    case T::NumberOrNull: return "a number";
    case T::String: return "a string";
    case T::Bool: return "true or false";
  }
  return "";
}

bool has_type(const json& v, T t) {
  switch (t) {
    case T::Object: return v.is_object();
    case T::Array: return v.is_array();
    case T::Number: return v.is_number();
    case T::NumberOrNull: return v.is_number() || v.is_null();
    case T::String: return v.is_string();
    case T::Bool: return v.is_boolean();
  }
  return false;
}

// Checks keys of one JSON report and says, on the first problem, where it is and what to do.
struct Checker {
  std::string where, kind;
  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw UserError(where + ": damaged " + kind + " report: " + path + " " + what +
                    "; rerun the command that wrote it (or restore the file) and try again");
  }
  const json& need(const json& j, const std::string& parent, const std::string& key, T t) const {
    const std::string path = parent.empty() ? key : parent + "." + key;
    if (!j.is_object() || !j.contains(key)) fail(path, "is missing");
    const json& v = j.at(key);
    if (!has_type(v, t)) fail(path, std::string("must be ") + type_name(t) + ", not " + v.type_name());
    return v;
  }
  void opt(const json& j, const std::string& parent, const std::string& key, T t) const {
    if (j.is_object() && j.contains(key) && !j.at(key).is_null()) need(j, parent, key, t);
  }
  // Every element of list `key` is an object with `fields`.
  void each(const json& j, const std::string& key, const std::vector<std::pair<std::string, T>>& fields) const {
    const json& list = need(j, "", key, T::Array);
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string p = key + "[" + std::to_string(i) + "]";
      if (!list[i].is_object()) fail(p, std::string("must be an object, not ") + list[i].type_name());
      for (const auto& [f, t] : fields) need(list[i], p, f, t);
    }
  }
};

void check_history(const Checker& c, const json& j) {
  c.each(j, "history", {{"epoch", T::Number}, {"train_loss", T::NumberOrNull}, {"train_accuracy", T::NumberOrNull},
                        {"val_loss", T::NumberOrNull}, {"val_accuracy", T::NumberOrNull}});
}

}  // namespace

std::string report_kind(const json& j, const std::string& where) {
  const std::string what =
      "; give the report.json of a train or prune run, the quant_report.json of quantize --qat-epochs, the "
      "deploy_report.json of deploy, the output of profile --json, or a directory holding one";
  if (!j.is_object()) throw UserError(where + ": not an mcuprune report (the file holds " + j.type_name() +
                                      ", not an object)" + what);
  const std::string format = j.contains("format") && j["format"].is_string() ? j["format"].get<std::string>() : "";
  const std::string command =
      j.contains("command") && j["command"].is_string() ? j["command"].get<std::string>() : "";
  std::string kind;
  if (format == "mcuprune-profile") kind = "profile";
  else if (format == "mcuprune-bench") kind = "bench";
  else if (format == "mcuprune-report") kind = command;
  // deploy reports before version 0.1.1 carried no "format"; their keys say what they are.
  else if (format.empty() && command == "deploy" && j.contains("bit_exact_samples")) kind = "deploy";
  else if (format.empty())
    throw UserError(where + ": not an mcuprune report (no \"format\" key)" + what);
  else
    throw UserError(where + ": not a report mcuprune draws (\"format\" is \"" + format + "\")" + what);
  Checker c{where, kind};
  if (kind == "train") {
    check_history(c, j);
    c.need(j, "", "model", T::Object);
    c.need(j, "", "accuracy", T::Object);
    c.opt(j["accuracy"], "accuracy", "test", T::Number);
  } else if (kind == "prune") {
    check_history(c, j);
    c.each(j, "budgets", {{"resource", T::String}, {"unit", T::String}, {"budget", T::Number},
                          {"before", T::Number}, {"after", T::Number}, {"fits", T::Bool}});
    c.need(j, "", "budgets_met", T::Bool);
    c.each(j, "layers", {{"name", T::String}, {"op", T::String}, {"channels_before", T::Number},
                         {"channels_after", T::Number}});
    c.each(j, "fallbacks", {{"kind", T::String}, {"epoch", T::Number}});
    const json& res = c.need(j, "", "resources", T::Object);
    for (const char* side : {"before", "after"}) {
      const json& r = c.need(res, "resources", side, T::Object);
      for (const char* k : {"ram_bytes", "flash_bytes", "macs", "latency_ms", "params", "peak_sram_bytes"})
        c.need(r, std::string("resources.") + side, k, T::Number);
    }
    c.need(j, "", "model_before", T::Object);
    c.need(j, "", "model_after", T::Object);
    c.need(j, "", "board", T::String);
    c.need(j, "", "config", T::Object);
    c.need(j, "", "accuracy", T::Object);
  } else if (kind == "quantize") {
    const json& a = c.need(j, "", "accuracy", T::Object);
    c.need(a, "accuracy", "float", T::Number);
    c.need(a, "accuracy", "int8", T::Number);
    c.need(j, "", "model", T::Object);
    if (j.contains("qat")) {
      const json& q = c.need(j, "", "qat", T::Object);
      c.need(q, "qat", "float", T::Number);
      c.need(q, "qat", "int8", T::Number);
      c.opt(q, "qat", "history", T::Array);
    }
  } else if (kind == "deploy") {
    c.need(j, "", "samples", T::Number);
    c.need(j, "", "bit_exact_samples", T::Number);
    c.need(j, "", "board", T::String);
    c.need(j, "", "model_dir", T::String);
    const json& p = c.need(j, "", "predicted", T::Object);
    for (const char* k : {"arena_bytes", "model_constant_bytes", "profile_flash_bytes", "profile_ram_bytes"})
      c.need(p, "predicted", k, T::Number);
    if (j.contains("measured")) {
      const json& m = c.need(j, "", "measured", T::Object);
      c.need(c.need(m, "measured", "flash", T::Object), "measured.flash", "model_bytes", T::Number);
      c.need(c.need(m, "measured", "ram", T::Object), "measured.ram", "model_bytes", T::Number);
      c.opt(m, "measured", "operators", T::Array);
    }
  } else if (kind == "profile") {
    c.each(j, "operators", {{"name", T::String}, {"op", T::String}, {"flash_bytes", T::Number}, {"macs", T::Number},
                            {"latency_ms", T::Number}, {"live_bytes", T::Number}, {"bottleneck", T::Bool}});
    c.each(j, "budgets", {{"resource", T::String}, {"unit", T::String}, {"used", T::Number}, {"budget", T::Number},
                          {"fits", T::Bool}});
    const json& t = c.need(j, "", "totals", T::Object);
    for (const char* k : {"flash_bytes", "macs", "latency_ms", "ram_bytes", "peak_sram_bytes"})
      c.need(t, "totals", k, T::Number);
    c.need(j, "", "fits", T::Bool);
    c.need(j, "", "board", T::Object);
    c.need(j, "", "model", T::Object);
  } else if (kind == "bench") {
    c.need(j, "", "model", T::String);
    c.each(j, "runs", {{"method", T::String}, {"level", T::String}, {"seed", T::Number},
                       {"accuracy_test", T::NumberOrNull}, {"peak_sram_bytes", T::NumberOrNull},
                       {"flash_bytes", T::NumberOrNull}});
  } else if (kind == "eval") {
    throw UserError(where + ": an eval report has no page (its numbers are the accuracy and the confusion matrix); "
                    "report draws train, prune, quantize --qat-epochs, deploy and profile reports");
  } else {
    throw UserError(where + ": not a report mcuprune draws (\"command\" is \"" + command + "\")" + what);
  }
  return kind;
}

json read_report_file(const std::string& path) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const std::exception& e) {
    throw UserError(std::string(e.what()));
  }
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    throw UserError(path + ": the file is empty; rerun the command that wrote it");
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    throw UserError(path + ": not valid JSON (" + std::string(e.what()) +
                    "); the file may be truncated or edited: rerun the command that wrote it");
  }
}

namespace {

// JSON inside <script type="application/json">: nothing in it may close the element or open a
// comment, and the two line separators JavaScript once refused are escaped too.
std::string script_safe(std::string s) {
  std::string out;
  out.reserve(s.size() + 64);
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '\xe2' && i + 2 < s.size() && s[i + 1] == '\x80' && (s[i + 2] == '\xa8' || s[i + 2] == '\xa9')) {
      out += s[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

// JavaScript source inline: "</script" (any case) may not appear; "<\/" means the same in
// strings, regular expressions and comments, the only places it can occur.
std::string js_inline(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '<' && i + 1 < s.size() && s[i + 1] == '/') {
      std::string next = s.substr(i + 2, 6);
      for (char& ch : next) ch = char(std::tolower(static_cast<unsigned char>(ch)));
      if (next == "script") {
        out += "<\\/";
        ++i;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

std::string chart_library_notice() {
  return std::string(report_chart_library_name()) + " " + report_chart_library_version() +
         " (Apache License 2.0; its licence and notice are embedded in every page)";
}

std::string render_page(const Page& page) {
  json data = {{"kind", page.kind},
               {"source", page.source},
               {"report", page.report},
               {"costs", page.costs},
               {"notes", page.notes},
               {"chart_library", chart_library_notice()}};
  std::string s;
  s.reserve(2u << 20);
  s += "<!DOCTYPE html>\n";
  s += kMarker;
  s += "\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
       // Nothing leaves the page: no fetch, image, font or frame from anywhere.
       "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; "
       "style-src 'unsafe-inline'; img-src data: blob:; connect-src 'none'; font-src 'none'; frame-src 'none'; "
       "base-uri 'none'; form-action 'none'\">\n"
       "<meta name=\"generator\" content=\"mcuprune\">\n<title>";
  s += html_escape(page.title);
  s += "</title>\n<style>\n";
  s += report_page_css();
  s += "</style></head>\n<body data-report-kind=\"";
  s += html_escape(page.kind);
  s += "\">\n<main id=\"app\"><noscript>This report is drawn by JavaScript; open it in a browser with scripts "
       "enabled (nothing is loaded from the network).</noscript></main>\n"
       "<script type=\"application/json\" id=\"mcuprune-data\">";
  s += script_safe(data.dump(-1, ' ', false, json::error_handler_t::replace));
  s += "</script>\n<script>\n/*\n";
  s += js_inline(report_chart_library_licence());
  s += "\n*/\n";
  s += js_inline(report_chart_library());
  s += "\n</script>\n<script>\n";
  s += js_inline(report_page_js());
  s += "\n</script>\n</body></html>\n";
  return s;
}

void write_page(const std::string& path, const Page& page) { write_file_atomic(path, render_page(page)); }

bool is_mcuprune_page(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::string head(64, '\0');
  f.read(&head[0], std::streamsize(head.size()));
  head.resize(size_t(f.gcount()));
  return head.find(kMarker) != std::string::npos;
}

}  // namespace mcuprune
