// Shared by the pruning tests: a small residual CNN, a fast configuration, the exact
// resources of a graph under the default board, and quiet output.
#pragma once

#include "common/synthetic.h"
#include "graph/graph.h"
#include "prune/prune.h"

namespace mcuprune::test {

inline DatasetSplits synthetic(int per_class, uint64_t seed) { return quadrant_task(12, per_class, seed); }

inline Graph residual_model() {
  GraphBuilder b("net", {12, 12, 1});
  int x = b.relu(b.batchnorm(b.conv(b.input(), 16, 3, 1, Padding::Same, "c1"), "c1_bn"), "c1_relu");
  int y = b.relu(b.batchnorm(b.conv(x, 16, 3, 1, Padding::Same, "c2"), "c2_bn"), "c2_relu");
  int z = b.add({x, y}, "res");  // residual: c1 and c2 share a group
  int p = b.maxpool(z, 2, 2, Padding::Valid, "pool");
  int w = b.relu(b.conv(p, 24, 3, 1, Padding::Same, "c3"), "c3_relu");
  b.dense(b.flatten(b.maxpool(w, 2, 2, Padding::Valid, "pool2"), "flat"), 4, "logits");
  return b.finish();
}

inline PruneConfig fast_config(int epochs) {
  PruneConfig c;
  c.train.epochs = epochs;
  c.train.batch_size = 16;
  c.train.lr = 0.01;
  c.train.threads = 1;
  c.train.seed = 3;
  c.train.dataset = "synthetic";
  c.warmup_epochs = 1;
  c.prune_every = 4;
  c.finetune_epochs = 1;
  c.alpha_lr = 0;  // automatic: the widths can reach their budgets within the pruning phase
  c.min_width = 1;  // the tests' budgets were set with single-channel groups allowed
  return c;
}

inline OutputOptions quiet() {
  OutputOptions o;
  o.quiet = true;
  return o;
}

inline ResourceUse exact(const Graph& g) {
  Profile p = profile_graph(g, find_board("nucleo-f446re"), ProfileOptions{});
  return {p.ram_bytes(), p.flash_bytes, p.macs, p.latency_ms, p.params, ""};
}

}  // namespace mcuprune::test
