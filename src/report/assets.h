// What every report page carries inline, compiled into the binary at build time
// (cmake/embed_assets.cmake): the page's style sheet and script (src/report/assets/) and the
// chart library (tools/report: Apache ECharts from the npm registry) with its licence.
#pragma once

namespace mcuprune {

const char* report_page_css();
const char* report_page_js();
const char* report_chart_library();          // echarts.min.js
const char* report_chart_library_licence();  // its LICENSE and NOTICE
const char* report_chart_library_name();
const char* report_chart_library_version();

}  // namespace mcuprune
