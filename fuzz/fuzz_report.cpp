// Report pages' inputs: JSON reports (`mcuprune report FILE`) and the benchmark CSV
// (`mcuprune report --bench`). The first byte picks which; the rest is the file. A report that
// passes the checks is drawn (render_page), so the page's escaping runs on hostile text too.
#include "fuzz_common.h"
#include <nlohmann/json.hpp>

#include "report/page.h"

using namespace mcuprune;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool csv = data[0] & 1;
  const std::string path = fuzz::put(csv ? "methods.csv" : "report.json", data + 1, size - 1);
  fuzz::expect_clear_error([&] {
    if (csv) {
      for (const nlohmann::json& r : bench_reports_from_csv(path)) report_kind(r, path);
      return;
    }
    const nlohmann::json j = read_report_file(path);
    Page p;
    p.kind = report_kind(j, path);
    p.report = j;
    const std::string html = render_page(p);
    if (html.find("mcuprune-data") == std::string::npos) __builtin_trap();
  });
  return 0;
}
