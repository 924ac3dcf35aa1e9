// Test fixtures for the torch-free int8 suites: seeded random weights (with BatchNorm
// statistics a trained network could have) and channel-pruned variants of a graph.
#pragma once

#include <random>
#include <string>
#include <vector>

#include "graph/channel_groups.h"
#include "graph/weights.h"

namespace mcuprune::test {

inline float uniform(std::mt19937_64& rng, float lo, float hi) {
  return lo + (hi - lo) * float(rng() % 1000001) / 1000000.0f;
}

// Conv/dense weights uniform in [-0.5, 0.5] (He-like scale when fan_in is set), biases
// small; BatchNorm gamma in [0.5, 1.5], beta and mean in [-0.2, 0.2], variance in [0.5, 1.5].
inline WeightMap random_weights(const Graph& g, std::mt19937_64& rng, bool he_scale = false) {
  WeightMap w;
  for (const auto& entry : expected_weight_shapes(g)) {
    const std::string& name = entry.first;  // (a named variable: lambdas cannot capture bindings in C++17)
    const std::vector<int64_t>& shape = entry.second;
    WeightTensor t;
    t.shape = shape;
    auto ends_with = [&](const char* s) {
      std::string suf(s);
      return name.size() >= suf.size() && name.compare(name.size() - suf.size(), suf.size(), suf) == 0;
    };
    float lo = -0.5f, hi = 0.5f;
    if (ends_with(".weight") && he_scale && shape.size() >= 2) {
      int64_t fan_in = 1;
      for (size_t k = 1; k < shape.size(); ++k) fan_in *= shape[k];
      hi = std::sqrt(6.0f / float(fan_in)), lo = -hi;
    } else if (ends_with(".bias") || ends_with(".beta") || ends_with(".running_mean")) {
      lo = -0.2f, hi = 0.2f;
    } else if (ends_with(".gamma") || ends_with(".running_var")) {
      lo = 0.5f, hi = 1.5f;
    }
    for (int64_t k = 0; k < t.numel(); ++k) t.data.push_back(uniform(rng, lo, hi));
    w[name] = t;
  }
  return w;
}

// Removes a seeded random ~40% of the channels of every prunable group (at least one
// channel stays), so the result has the uneven widths a pruned network has.
inline Graph prune_randomly(const Graph& g, WeightMap& w, std::mt19937_64& rng) {
  Graph cur = g;
  const int n = int(find_channel_groups(g).groups.size());
  for (int k = 0; k < n; ++k) {
    ChannelGroups groups = find_channel_groups(cur);
    const ChannelGroup& grp = groups.groups[size_t(k)];
    if (!grp.prunable || grp.channels < 2) continue;
    std::vector<int> all(size_t(grp.channels));
    for (int c = 0; c < grp.channels; ++c) all[size_t(c)] = c;
    std::shuffle(all.begin(), all.end(), rng);
    all.resize(size_t(std::max(1, grp.channels * 6 / 10)));
    cur = prune_group(cur, groups, k, all, &w);
  }
  return cur;
}

}  // namespace mcuprune::test
