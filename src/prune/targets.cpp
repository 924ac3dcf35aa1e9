// Budgets and the exact resource model as pruning sees them: what a target asks for, what
// an architecture costs, and which channels to remove to meet a target from a ranking.
#include <algorithm>
#include <cmath>

#include "prune/internal.h"

namespace mcuprune::prune_detail {

using nlohmann::json;

const char* const kResourceNames[4] = {"ram", "flash", "macs", "latency"};

Target resolve_target(const PruneConfig& c) {
  Target t;
  t.board = find_board(c.board.empty() ? "nucleo-f446re" : c.board);
  ProfileOptions po = profile_options(c);
  t.runtime = po.runtime.empty() ? t.board.runtime : po.runtime;
  find_runtime(t.runtime);
  t.inplace_add = c.inplace_add;
  const Budgets b = effective_budgets(t.board, po);
  if (b.ram_bytes) t.budget[kRam] = double(*b.ram_bytes);
  if (b.flash_bytes) t.budget[kFlash] = double(*b.flash_bytes);
  if (b.macs) t.budget[kMacs] = double(*b.macs);
  if (b.latency_ms) t.budget[kLatency] = *b.latency_ms;
  for (const std::string& m : c.minimize) {
    int k = -1;
    for (int r = 0; r < 4; ++r)
      if (m == kResourceNames[r]) k = r;
    if (k < 0) throw UserError("--minimize '" + m + "' is not one of: ram, flash, macs, latency");
    t.minimize[k] = true;
  }
  return t;
}

ExactResources exact_of(const Graph& g, const Target& t) {
  ProfileOptions o;
  o.optimal_order = true;
  o.inplace_add = t.inplace_add;
  o.runtime = t.runtime;
  o.board_budgets = false;  // the budgets are compared by meets(), not by the profile
  Profile p = profile_graph(g, t.board, o);
  ExactResources r;
  r.ram_bytes = p.ram_bytes();
  r.flash_bytes = p.flash_bytes;
  r.macs = p.macs;
  r.latency_ms = p.latency_ms;
  r.params = p.params;
  r.bottleneck = p.deployed.ops[p.used.order[p.used.bottleneck_step]].name;
  return r;
}

double value_of(const ExactResources& r, int k) {
  return k == kRam ? double(r.ram_bytes) : k == kFlash ? double(r.flash_bytes) : k == kMacs ? double(r.macs) : r.latency_ms;
}

std::string format_value(int k, double v) {
  char buf[64];
  if (k <= kFlash) return format_bytes(int64_t(v));
  if (k == kMacs) std::snprintf(buf, sizeof buf, "%.0f MACs", v);
  else std::snprintf(buf, sizeof buf, "%.3f ms", v);
  return buf;
}

bool meets(const ExactResources& r, const Target& t) {
  for (int k = 0; k < 4; ++k)
    if (t.budget[k] && value_of(r, k) > *t.budget[k]) return false;
  return true;
}

json resources_json(const ExactResources& r) {
  return {{"ram_bytes", r.ram_bytes}, {"flash_bytes", r.flash_bytes}, {"macs", r.macs},
          {"latency_ms", r.latency_ms}, {"params", r.params}, {"bottleneck", r.bottleneck}};
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
        w[size_t(grp.id)] = std::min(grp.channels, (w[size_t(grp.id)] + round_to - 1) / round_to * round_to);
  return w;
}

std::optional<int64_t> fewest_removals_meeting(const Graph& g, const ChannelGroups& cg, const GlobalRanking& r,
                                               const Target& t, const PruneConfig& c) {
  auto ok = [&](int64_t n) {
    return meets(exact_of(with_widths(g, widths_after_removing(cg, r, n, c.round_to), c.min_width, c.round_to), t), t);
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
