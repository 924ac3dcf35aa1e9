// Random small DAGs of deployed ops for property tests (resources, export).
#pragma once

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

}  // namespace mcuprune::test
