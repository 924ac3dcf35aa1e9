// Random small DAGs of deployed ops for property tests (resources, export).
#pragma once

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace mcuprune::test {

// A random DAG of 1..8 deployed ops: convs (1..16 channels, kernel 1 or 3, "same", so
// every tensor has the same height and width) reading any earlier value, residual adds
// (the second input goes through a conv to the first's channel count), concats, optional
// ReLUs (fused), and a final concat of every value nobody reads.
inline Graph random_graph(std::mt19937& rng, int id) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const int hw = pick(2, 5);
  GraphBuilder b("random_" + std::to_string(id), {hw, hw, pick(1, 4)});
  std::vector<int> avail = {0};
  std::vector<bool> read(64, false);
  const int budget = pick(1, 7);  // deployed ops before the final join
  int ops = 0;
  auto any = [&] { return avail[size_t(pick(0, int(avail.size()) - 1))]; };
  auto conv = [&](int x, int c) {
    read[size_t(x)] = true;
    int n = b.conv(x, c, pick(0, 1) ? 3 : 1, 1, Padding::Same);
    ++ops;
    if (pick(0, 3) == 0) {
      read[size_t(n)] = true;
      n = b.relu(n);
    }
    return n;
  };
  while (ops < budget) {
    const int r = pick(0, 9);
    if (r < 5 || avail.size() < 2) {
      avail.push_back(conv(any(), pick(1, 16)));
    } else if (r < 8) {
      if (ops + 2 > budget) continue;
      int x = any(), y = any();
      if (x == y) continue;
      int y2 = conv(y, b.shape(x).c);
      read[size_t(x)] = read[size_t(y2)] = true;
      int s = b.add({x, y2});
      ++ops;
      if (pick(0, 1)) {
        read[size_t(s)] = true;
        s = b.relu(s);
      }
      avail.push_back(s);
    } else {
      int x = any(), y = any();
      if (x == y) continue;
      read[size_t(x)] = read[size_t(y)] = true;
      avail.push_back(b.concat({x, y}));
      ++ops;
    }
  }
  std::vector<int> dangling;
  for (int n : avail)
    if (!read[size_t(n)]) dangling.push_back(n);
  if (dangling.size() > 1) b.concat(dangling);
  return b.finish();
}

// A random chain of spatially local ops (convs, depthwise convs and pools with strides 1 and 2,
// kernels 1/3/5, same and valid padding, residual blocks, concatenated branches) on an odd-sized
// input, then a classifier head: the candidates for patch stages.
inline Graph random_spatial_graph(std::mt19937& rng) {
  auto pick = [&](int lo, int hi) { return lo + int(rng() % uint32_t(hi - lo + 1)); };
  GraphBuilder b("random", {pick(5, 19), pick(5, 19), pick(1, 3)});
  int x = b.input();
  const int layers = pick(2, 6);
  for (int l = 0; l < layers; ++l) {
    const Shape s = b.shape(x);
    const int k = std::min({pick(0, 2) * 2 + 1, s.h, s.w});
    const int stride = s.h >= 4 && s.w >= 4 && pick(0, 2) == 0 ? 2 : 1;
    const Padding pad = pick(0, 2) == 0 ? Padding::Valid : Padding::Same;
    switch (pick(0, 5)) {
      case 0:
      case 1:
        x = b.conv(x, pick(1, 4), k, stride, pad);
        if (pick(0, 1)) x = b.relu(x);
        break;
      case 2:
        x = b.depthwise(x, k, stride, pad);
        break;
      case 3:
        if (s.h >= 2 && s.w >= 2)
          x = pick(0, 1) ? b.maxpool(x, 2, pick(1, 2), pad) : b.avgpool(x, std::min({3, k + 1, s.h, s.w}), pick(1, 2), pad);
        break;
      case 4: {  // a residual block
        int y = b.conv(x, s.c, k, 1, Padding::Same);
        y = b.relu(y);
        y = b.conv(y, s.c, 3 <= std::min(s.h, s.w) ? 3 : 1, 1, Padding::Same);
        x = b.add({x, y});
        break;
      }
      default: {  // two branches, concatenated
        int y = b.conv(x, pick(1, 3), k, 1, Padding::Same);
        int z = b.conv(x, pick(1, 3), 1, 1, Padding::Same);
        x = b.concat({y, z});
        break;
      }
    }
  }
  x = b.flatten(x);
  b.dense(x, 3);
  return b.finish();
}

}  // namespace mcuprune::test
