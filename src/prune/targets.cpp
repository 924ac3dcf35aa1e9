// Budgets and the exact resource model as pruning sees them: what a target asks for and what
// an architecture costs.
#include <algorithm>
#include <cmath>

#include "prune/internal.h"

namespace mcuprune::prune_detail {

using nlohmann::json;

Target resolve_target(const PruneConfig& c) {
  Target t;
  t.board = find_board(c.board.empty() ? "nucleo-f446re" : c.board);
  ProfileOptions po = profile_options(c);
  t.runtime = po.runtime.empty() ? t.board.runtime : po.runtime;
  find_runtime(t.runtime);
  t.inplace_add = c.inplace_add;
  t.patch = po.patch;
  t.patch_max_overhead = po.patch_max_overhead;
  parse_patch_spec(t.patch);  // a malformed --patch fails before any training
  t.budgets = effective_budgets(t.board, po);
  for (const std::string& m : c.minimize) {
    std::optional<Resource> r = resource_from_name(m);
    if (!r) throw UserError("--minimize '" + m + "' is not one of: ram, flash, macs, latency");
    t.minimize[size_t(*r)] = true;
  }
  return t;
}

ResourceUse exact_of(const Graph& g, const Target& t) {
  ProfileOptions o;
  o.optimal_order = true;
  o.inplace_add = t.inplace_add;
  o.runtime = t.runtime;
  o.patch = t.patch;
  o.patch_max_overhead = t.patch_max_overhead;
  o.board_budgets = false;  // the budgets are compared by meets(), not by the profile
  return profile_graph(g, t.board, o).use();
}

}  // namespace mcuprune::prune_detail
