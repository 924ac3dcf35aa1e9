// Weight-based channel scores that methods rank channels by (the Taylor salience of diff is
// gathered by the method itself, from the task loss's gradient on the channel gates).
#include <cmath>

#include "prune/internal.h"

namespace mcuprune::prune_detail {

namespace {

bool is_producer(const Node& n) {
  return n.kind == OpKind::Conv2D || n.kind == OpKind::Dense || n.kind == OpKind::DepthwiseConv2D;
}

// Per group, per channel: accumulate f(value) over the rows of every member node's tensor
// `suffix` (".weight" of producers, ".gamma" of BatchNorms) that holds the group.
template <class Select, class Accumulate>
std::vector<std::vector<float>> per_channel(const State& s, const WeightMap& w, Select select,
                                            const std::string& suffix, Accumulate acc) {
  std::vector<std::vector<float>> out(s.groups.groups.size());
  for (const ChannelGroup& grp : s.groups.groups) {
    std::vector<float>& v = out[size_t(grp.id)];
    v.assign(size_t(grp.channels), 0.0f);
    if (!grp.prunable) continue;
    for (int node : grp.members) {
      const Node& n = s.graph.nodes[size_t(node)];
      if (!select(n)) continue;
      const WeightTensor& t = w.at(n.name + suffix);
      int64_t inner = t.numel() / t.shape[0];
      for (const ChannelSegment& seg : s.groups.layout[size_t(node)].segments) {
        if (seg.group != grp.id) continue;
        for (int k = 0; k < seg.count; ++k)
          for (int64_t e = 0; e < inner; ++e) acc(v[size_t(k)], t.data[size_t((seg.offset + k) * inner + e)]);
      }
    }
  }
  return out;
}

}  // namespace

std::vector<std::vector<float>> weight_salience(const State& s, const std::string& kind) {
  WeightMap w = s.net->weight_map();
  if (kind == "bn")
    return per_channel(s, w, [](const Node& n) { return n.kind == OpKind::BatchNorm; }, ".gamma",
                       [](float& a, float x) { a += std::fabs(x); });
  if (kind == "l1")
    return per_channel(s, w, is_producer, ".weight", [](float& a, float x) { a += std::fabs(x); });
  auto sq = per_channel(s, w, is_producer, ".weight", [](float& a, float x) { a += x * x; });
  for (auto& v : sq)
    for (float& x : v) x = std::sqrt(x);
  return sq;
}

std::vector<std::vector<float>> normalized_weight_norms(const State& s, const std::string& norm) {
  auto v = weight_salience(s, norm);
  for (auto& g : v) {
    double mean = 0;
    for (float x : g) mean += x;
    mean = g.empty() ? 0 : mean / double(g.size());
    if (mean > 0)
      for (float& x : g) x = float(x / mean);
  }
  return v;
}

}  // namespace mcuprune::prune_detail
