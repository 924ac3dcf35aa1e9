// The differentiable resource model of the current architecture: the shared formulas of
// src/resources/formulas.h evaluated on soft channel counts, with peak memory taken along
// the exact optimal operator order of the current (integer) architecture.
#include "nn/soft_resources.h"
#include "prune/internal.h"
#include "resources/profile.h"

namespace mcuprune::prune_detail {

SoftModel build_soft(const Graph& g, const ChannelGroups& cg, const Target& t) {
  SoftModel m;
  m.graph = std::make_shared<Graph>(g);
  const RuntimeProfile& rt = find_runtime(t.runtime);
  m.d = deploy_view(*m.graph, DeployOptions{rt.tflite_format});  // the view the exact profile uses
  m.free_exact = exact_free_channels(m.d);
  auto ch = propagate_channels(m.d, m.free_exact);
  auto costs = graph_costs(m.d, ch, rt, t.board);
  std::vector<int64_t> scratch;
  for (const auto& c : costs.ops) scratch.push_back(c.scratch_bytes);
  if (t.patch != "none") {  // the plan the exact model uses for this architecture
    ProfileOptions o;
    o.runtime = t.runtime;
    o.inplace_add = t.inplace_add;
    o.patch = t.patch;
    o.patch_max_overhead = t.patch_max_overhead;
    o.board_budgets = false;
    const Profile p = profile_graph(g, t.board, o);
    if (p.patch) {
      m.patch = p.patch->geometry;
      m.order = p.patch->schedule.order;
    }
  }
  if (!m.patch) m.order = schedule_optimal(m.d, costs.tensor_bytes, scratch, t.inplace_add).order;
  for (int tensor : free_channel_tensors(m.d)) {
    int producer = m.d.tensors[size_t(tensor)].producer;
    int grp = -1;
    if (producer >= 0) {
      int node = m.d.ops[size_t(producer)].ir_node;
      const ChannelLayout& l = cg.layout[size_t(node)];
      if (l.segments.size() == 1 && cg.groups[size_t(l.segments[0].group)].prunable) grp = l.segments[0].group;
    }
    m.free_group.push_back(grp);
  }
  return m;
}

SoftResources soft_resources(const SoftModel& m, const std::vector<torch::Tensor>& widths, const Target& t) {
  std::vector<torch::Tensor> free;
  for (size_t k = 0; k < m.free_group.size(); ++k)
    free.push_back(m.free_group[k] >= 0 ? widths[size_t(m.free_group[k])]
                                        : torch::tensor(double(m.free_exact[k]), torch::kDouble));
  const RuntimeProfile& rt = find_runtime(t.runtime);
  auto ch = propagate_channels(m.d, free);
  auto costs = graph_costs(m.d, ch, rt, t.board);
  std::vector<torch::Tensor> scratch;
  for (const auto& c : costs.ops) scratch.push_back(c.scratch_bytes);
  SoftResources r;
  if (!m.patch) {
    auto mem = order_memory(m.d, m.order, costs.tensor_bytes, scratch, t.inplace_add);
    r.value[int(Resource::Ram)] = mem.peak_bytes + costs.persistent_ram_bytes;
    r.value[int(Resource::Flash)] = costs.flash_bytes;
    r.value[int(Resource::Macs)] = costs.macs;
    r.value[int(Resource::Latency)] = costs.latency_ms;
  } else {
    // The plan's figures at soft widths (resources/patch.h), by the exact model's templates.
    const PatchGeometry& g = *m.patch;
    const torch::Tensor peak = patched_peak(m.d, g, m.order, ch, costs.tensor_bytes, scratch, t.inplace_add);
    const PatchedTotals<torch::Tensor> tot = patched_totals(m.d, g, ch, costs.ops, t.board, rt);
    const torch::Tensor macs = tot.macs, latency = tot.latency_ms;
    r.value[int(Resource::Ram)] = peak + costs.persistent_ram_bytes;
    r.value[int(Resource::Flash)] = costs.flash_bytes + double(patch_table_bytes(m.d, g));
    r.value[int(Resource::Macs)] = macs;
    r.value[int(Resource::Latency)] = latency;
  }
  r.params = costs.params;
  return r;
}

}  // namespace mcuprune::prune_detail
