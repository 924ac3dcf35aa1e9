// The differentiable resource model of the current architecture: the shared formulas of
// src/resources/formulas.h evaluated on soft channel counts, with peak memory taken along
// the exact optimal operator order of the current (integer) architecture.
#include "nn/soft_resources.h"
#include "prune/internal.h"

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
  m.order = schedule_optimal(m.d, costs.tensor_bytes, scratch, t.inplace_add).order;
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
  auto mem = order_memory(m.d, m.order, costs.tensor_bytes, scratch, t.inplace_add);
  SoftResources r;
  r.value[int(Resource::Ram)] = mem.peak_bytes + costs.persistent_ram_bytes;
  r.value[int(Resource::Flash)] = costs.flash_bytes;
  r.value[int(Resource::Macs)] = costs.macs;
  r.value[int(Resource::Latency)] = costs.latency_ms;
  r.params = costs.params;
  return r;
}

}  // namespace mcuprune::prune_detail
