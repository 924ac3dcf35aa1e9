// The loop's fallback when a method ends its pruning phase over budget. It is greedy and
// cost-aware, never a uniform shrink: while a budget is violated, take the most violated
// resource; for each group, try removing its lowest-ranked
// eighth (at least one --round-to step); keep the cut that saves the most of that resource
// per unit of cost, where the cost of a cut is how much of the layer it takes: log(w / w')
// plus the share of the group's remaining salience removed. The log term makes a layer's
// every halving cost the same, so a thin layer is not cut to one channel just because its
// channels are cheap; salience decides which channels go and tips the choice towards
// groups with idle channels. Groups that take no part in the binding resource save nothing
// and are left alone. Each use is recorded (report.json `fallbacks`, the summary).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "prune/internal.h"

namespace mcuprune::prune_detail {

namespace {

// Per group: salience divided by the group's mean (weight norms where no salience was
// gathered), so that a channel's score says how it compares within its layer.
std::vector<std::vector<float>> comparable_scores(const State& s, const PruneConfig& c) {
  std::vector<std::vector<float>> norms = normalized_weight_norms(s, c.norm);
  std::vector<std::vector<float>> out = s.salience;
  for (size_t g = 0; g < out.size(); ++g) {
    double mean = 0;
    for (float v : out[g]) mean += v;
    mean = out[g].empty() ? 0 : mean / double(out[g].size());
    if (mean > 0)
      for (float& v : out[g]) v = float(v / mean);
    else
      out[g] = norms[g];
  }
  return out;
}

int most_violated(const ResourceUse& r, const Target& t) {
  int worst = -1;
  double worst_ratio = 1;
  for (int k = 0; k < 4; ++k)
    if (t.budgets.limit[k] && r[Resource(k)] / *t.budgets.limit[k] > worst_ratio) {
      worst_ratio = r[Resource(k)] / *t.budgets.limit[k];
      worst = k;
    }
  return worst;
}

}  // namespace

void fallback_fit(State& s, const PruneConfig& c, const Target& t, int epoch, Method& m) {
  FallbackRecord rec;
  rec.kind = "greedy-fit";
  rec.epoch = epoch;
  rec.before = exact_of(s.graph, t);
  std::vector<std::vector<float>> scores = comparable_scores(s, c);
  std::vector<std::vector<float>> ascending = scores;
  for (auto& v : ascending) std::sort(v.begin(), v.end());
  std::vector<int> widths = current_widths(s.groups);
  ResourceUse cur = rec.before;
  std::string binding;
  while (!meets(cur, t.budgets)) {
    const int k = most_violated(cur, t);
    if (binding.find(resource_name(Resource(k))) == std::string::npos) binding += std::string(binding.empty() ? "" : ", ") + resource_name(Resource(k));
    int best = -1;
    double best_score = -1;
    std::vector<int> best_widths;
    ResourceUse best_res;
    for (const ChannelGroup& grp : s.groups.groups) {
      const int w = widths[size_t(grp.id)];
      if (!grp.prunable || w <= grp.min_channels) continue;
      int step = std::max({1, c.round_to, w / 8});
      int nw = std::max(grp.min_channels, w - step);
      if (c.round_to > 1) nw = std::max(grp.min_channels, nw / c.round_to * c.round_to);
      if (nw >= w) continue;
      std::vector<int> trial = widths;
      trial[size_t(grp.id)] = nw;
      ResourceUse r = exact_of(with_widths(s.graph, trial, c.min_width, c.round_to), t);
      double saved = cur[Resource(k)] - r[Resource(k)];
      if (saved <= 0) continue;
      // The channels this cut removes: the lowest-scored of those still kept.
      const auto& asc = ascending[size_t(grp.id)];
      const int first = grp.channels - w;
      double lost = 0, kept = 0;
      for (int i = first; i < grp.channels; ++i) (i < first + (w - nw) ? lost : kept) += asc[size_t(i)];
      double cost = std::log(double(w) / nw) + (lost + kept > 0 ? lost / (lost + kept) : 0);
      double score = saved / cost;
      if (score > best_score) {
        best_score = score;
        best = grp.id;
        best_widths = trial;
        best_res = r;
      }
    }
    if (best < 0)
      throw UserError(std::string("the ") + resource_name(Resource(k)) + " budget cannot be met by removing more channels (" +
                      format_resource(Resource(k), cur[Resource(k)]) + " needed, budget " + format_resource(Resource(k), *t.budgets.limit[k]) +
                      "); raise the budget or lower --min-width");
    widths = best_widths;
    cur = best_res;
  }
  std::string changed;
  for (const ChannelGroup& grp : s.groups.groups)
    if (widths[size_t(grp.id)] < grp.channels)
      changed += (changed.empty() ? "" : ", ") + s.graph.nodes[size_t(grp.producers.at(0))].name + " " +
                 std::to_string(grp.channels) + "->" + std::to_string(widths[size_t(grp.id)]);
  s.salience = scores;
  remove_channels(s, widths, c);
  m.after_surgery(s);
  rec.after = exact_of(s.graph, t);
  rec.detail = "over budget at the end of the pruning phase (" + binding +
               "); removed the lowest-salience channels per unit of the binding resource: " + changed;
  s.fallbacks.push_back(rec);
}

}  // namespace mcuprune::prune_detail
