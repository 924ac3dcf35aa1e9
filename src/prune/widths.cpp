// Widths and rankings: architectures at given widths, global channel rankings, and the
// fewest lowest-ranked channels whose removal meets a target.
#include <algorithm>
#include <cmath>

#include "prune/internal.h"

namespace mcuprune::prune_detail {

ChannelGroups groups_of(const Graph& g, const PruneConfig& c) {
  ChannelGroups cg = find_channel_groups(g, c.min_width, c.round_to);
  if (c.bottleneck_width <= 0) return cg;
  const int w = round_up_width(c.bottleneck_width, c.round_to);
  for (int id : c.bottleneck_groups) {
    if (id < 0 || size_t(id) >= cg.groups.size())
      throw UserError("the pruning configuration names bottleneck group " + std::to_string(id) + " but model '" + g.name +
                      "' has " + std::to_string(cg.groups.size()) + " channel groups; start a new run");
    ChannelGroup& grp = cg.groups[size_t(id)];
    if (grp.prunable) grp.min_channels = std::min(std::max(grp.min_channels, w), grp.channels);
  }
  return cg;
}

Graph with_widths(Graph g, const std::vector<int>& widths, int min_width, int round_to) {
  ChannelGroups cg = find_channel_groups(g, min_width, round_to);
  for (size_t k = 0; k < cg.groups.size(); ++k) {
    if (!cg.groups[k].prunable || widths[k] >= cg.groups[k].channels) continue;
    std::vector<int> keep(size_t(widths[k]));
    for (int i = 0; i < widths[k]; ++i) keep[size_t(i)] = i;
    g = prune_group(g, cg, int(k), keep, nullptr);
    cg = find_channel_groups(g, min_width, round_to);
  }
  return g;
}

int round_width(double w, const ChannelGroup& grp, int round_to) {
  int t = int(std::lround(w));
  if (round_to > 1) t = int(std::lround(w / round_to)) * round_to;
  return std::clamp(t, grp.min_channels, grp.channels);
}

std::vector<int> current_widths(const ChannelGroups& cg) {
  std::vector<int> w;
  for (const ChannelGroup& grp : cg.groups) w.push_back(grp.channels);
  return w;
}

GlobalRanking rank_globally(const ChannelGroups& cg, const std::vector<std::vector<float>>& scores) {
  GlobalRanking r;
  for (const ChannelGroup& grp : cg.groups)
    if (grp.prunable)
      for (int i = 0; i < grp.channels; ++i) r.order.push_back({grp.id, i});
  auto score = [&](const std::pair<int, int>& p) { return scores[size_t(p.first)][size_t(p.second)]; };
  std::stable_sort(r.order.begin(), r.order.end(),
                   [&](const auto& a, const auto& b) { return score(a) < score(b); });
  return r;
}

int64_t removable_channels(const ChannelGroups& cg) {
  int64_t n = 0;
  for (const ChannelGroup& grp : cg.groups)
    if (grp.prunable) n += grp.channels - grp.min_channels;
  return n;
}

std::vector<int> widths_after_removing(const ChannelGroups& cg, const GlobalRanking& r, int64_t count, int round_to) {
  std::vector<int> w = current_widths(cg);
  int64_t removed = 0;
  for (const auto& [grp, ch] : r.order) {
    if (removed >= count) break;
    if (w[size_t(grp)] <= cg.groups[size_t(grp)].min_channels) continue;
    --w[size_t(grp)];
    ++removed;
  }
  if (round_to > 1)
    for (const ChannelGroup& grp : cg.groups)
      if (grp.prunable && w[size_t(grp.id)] < grp.channels)
        w[size_t(grp.id)] = std::min(grp.channels, round_up_width(w[size_t(grp.id)], round_to));
  return w;
}

std::optional<int64_t> fewest_removals_meeting(const Graph& g, const ChannelGroups& cg, const GlobalRanking& r,
                                               const Target& t, const PruneConfig& c) {
  auto ok = [&](int64_t n) {
    return meets(exact_of(with_widths(g, widths_after_removing(cg, r, n, c.round_to), c.min_width, c.round_to), t), t.budgets);
  };
  int64_t hi = removable_channels(cg);
  if (!ok(hi)) return std::nullopt;
  if (ok(0)) return 0;
  int64_t lo = 0;  // !ok(lo), ok(hi)
  while (hi - lo > 1) {
    int64_t mid = lo + (hi - lo) / 2;
    (ok(mid) ? hi : lo) = mid;
  }
  return hi;
}

std::vector<int> keep_by_score(const std::vector<float>& score, int count) {
  std::vector<int> idx(score.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = int(i);
  std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return score[size_t(a)] > score[size_t(b)]; });
  std::vector<int> keep(idx.begin(), idx.begin() + count);
  std::sort(keep.begin(), keep.end());
  return keep;
}

}  // namespace mcuprune::prune_detail
