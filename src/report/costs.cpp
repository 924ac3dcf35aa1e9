// The model's costs as a page shows them (page.h model_costs_json).
#include "graph/graph.h"
#include "report/page.h"
#include "resources/budget.h"
#include "resources/profile.h"

namespace mcuprune {

using nlohmann::json;

namespace {

json timeline_json(const Profile& p) {
  json ops = json::array(), live = json::array(), scratch = json::array(), bytes = json::array();
  int bottleneck = 0;
  for (size_t k = 0; k < p.rows.size(); ++k) {
    const OpRow& r = p.rows[k];
    ops.push_back(r.name);
    json step = json::array();  // tensor, bytes, tensor, bytes, ...
    for (size_t i = 0; i < r.live_tensors.size(); ++i) {
      step.push_back(r.live_window[i] ? -1 - r.live_tensors[i] : r.live_tensors[i]);  // negative: a patch window
      step.push_back(r.live_bytes_of[i]);
    }
    live.push_back(step);
    scratch.push_back(r.scratch_bytes);
    bytes.push_back(r.live_bytes);
    if (r.bottleneck) bottleneck = int(k);
  }
  return {{"order", p.options.optimal_order ? "optimal" : "given"},
          {"ops", ops},
          {"live", live},
          {"scratch", scratch},
          {"step_bytes", bytes},
          {"peak_bytes", p.used.peak_bytes},
          {"bottleneck_step", bottleneck},
          {"search_complete", p.used.search_complete},
          {"patched", bool(p.patch)}};
}

}  // namespace

json model_costs_json(const Profile& given, const Profile& optimal) {
  const DeployedGraph& d = optimal.deployed;
  json tensors = json::array();
  for (const auto& t : d.tensors) tensors.push_back(t.name);
  json layers = json::array();
  for (const OpRow& r : optimal.rows)
    layers.push_back({{"name", r.name},
                      {"kind", r.kind},
                      {"fused", r.fused},
                      {"output", {r.out.h, r.out.w, r.out.c}},
                      {"params", r.params},
                      {"flash_bytes", r.flash_bytes},
                      {"macs", r.macs},
                      {"latency_ms", r.latency_ms},
                      {"instructions", r.instructions},
                      {"live_bytes", r.live_bytes},
                      {"scratch_bytes", r.scratch_bytes},
                      {"bottleneck", r.bottleneck}});
  json budgets = json::array();
  for (const auto& b : optimal.budgets) budgets.push_back(budget_check_to_json(b));
  return {{"model", optimal.graph->name},
          {"board", optimal.board.name},
          {"runtime", optimal.runtime.name},
          {"tensors", tensors},
          {"layers", layers},
          {"timeline", {{"given", timeline_json(given)}, {"optimal", timeline_json(optimal)}}},
          {"totals",
           {{"flash_bytes", optimal.flash_bytes},
            {"macs", optimal.macs},
            {"latency_ms", optimal.latency_ms},
            {"ram_bytes", optimal.ram_bytes()},
            {"persistent_ram_bytes", optimal.persistent_ram_bytes},
            {"peak_sram_given_order_bytes", given.used.peak_bytes},
            {"peak_sram_optimal_order_bytes", optimal.used.peak_bytes},
            {"params", optimal.params}}},
          {"budgets", budgets},
          {"fits", optimal.fits()}};
}

}  // namespace mcuprune
