// Shared by the export suites: the zoo models (unpruned and randomly pruned) and a model
// with a concat path, int8-quantised on real Fashion-MNIST images.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "common/random_model.h"
#include "data/dataset.h"
#include "graph/zoo.h"
#include "quant/quantize.h"

namespace mcuprune::test {

struct ExportCase {
  std::string label;  // "resnet8/pruned"
  Graph graph;        // the trained-form graph (BatchNorm, ReLU nodes)
  WeightMap weights;
  FoldedModel folded;
  QuantizedModel q;
};

// Normalised HWC float images from Fashion-MNIST (first `n` of the split).
inline std::vector<std::vector<float>> fashion_images(const Dataset& d, size_t first, size_t n) {
  std::vector<std::vector<float>> r;
  for (size_t i = first; i < first + n && i < d.size(); ++i) {
    std::vector<float> x(d.sample_bytes());
    for (size_t k = 0; k < x.size(); ++k) x[k] = (d.sample(i)[k] / 255.0f - 0.5f) / 0.25f;
    r.push_back(std::move(x));
  }
  return r;
}

inline const DatasetSplits& fashion() {
  static DatasetSplits d = [] {
    LoadOptions lo;
    lo.limit_train = 64;
    lo.limit_test = 16;
    return load_dataset("fashion-mnist", lo);
  }();
  return d;
}

// An inception-style block: two branches concatenated, then a residual add and a softmax.
inline Graph concat_model() {
  GraphBuilder b("concatnet", {28, 28, 1});
  int x = b.relu(b.batchnorm(b.conv(b.input(), 8, 3, 2, Padding::Same, "stem")));
  int p = b.relu(b.batchnorm(b.conv(x, 6, 1, 1, Padding::Same, "branch_a")));
  int q = b.relu(b.batchnorm(b.conv(x, 4, 3, 1, Padding::Same, "branch_b")));
  int c = b.concat({p, q}, "cat");
  int y = b.batchnorm(b.conv(c, 8, 1, 1, Padding::Same, "mix"));
  int s = b.relu(b.add({x, y}, "residual"));
  int m = b.maxpool(s, 2, 2, Padding::Same, "pool");
  int d = b.depthwise(m, 3, 1, Padding::Valid, "dw");
  int a = b.avgpool(d, 2, 2, Padding::Same, "avg");
  int f = b.flatten(a, "flat");
  b.softmax(b.dense(f, 10, "fc"), "probs");
  return b.finish();
}

// Built once per test program (quantising 12 models takes a few seconds).
inline const std::vector<ExportCase>& export_cases() {
  static const std::vector<ExportCase> all = [] {
  std::vector<ExportCase> cases;
  std::mt19937_64 rng(2026);
  auto calib = fashion_images(fashion().train, 0, 32);
  auto add = [&](const std::string& label, Graph g, bool prune) {
    WeightMap w = random_weights(g, rng, /*he_scale=*/true);
    if (prune) g = prune_randomly(g, w, rng);
    ExportCase c{label + (prune ? "/pruned" : "/full"), g, w, fold_for_inference(g, w), {}};
    c.q = quantize_model(c.folded, calib);
    cases.push_back(std::move(c));
  };
  for (const auto& e : zoo_entries())
    for (bool prune : {false, true}) add(e.name, zoo_build(e.name, ZooOptions{}), prune);
  for (bool prune : {false, true}) add("concatnet", concat_model(), prune);
  return cases;
  }();
  return all;
}

inline std::vector<int8_t> quantize_input(const QuantizedModel& q, const std::vector<float>& x) {
  std::vector<int8_t> r;
  for (float v : x) r.push_back(q.activations[0].quantize(v));
  return r;
}

// How often another runtime's int8 operators disagree with the integer reference.
struct OpAgreement {
  int64_t values = 0, off_by_one = 0;
  int64_t off_by_one_in_average_pools = 0;  // of off_by_one: average pools' tie rule (docs/export.md)
  double off_by_one_percent() const { return values ? 100.0 * double(off_by_one) / double(values) : 0.0; }
};

// Recomputes every operator of q with the integer reference from another runtime's values
// of its inputs (`theirs`, indexed by node) and compares with that runtime's output. A
// difference over 1 LSB, or of 1 LSB on an operator for which may_differ(kind) is false,
// is a test failure naming the node, the element and both values.
template <class MayDiffer>
void compare_each_operator(const QuantizedModel& q, const std::vector<std::vector<int8_t>>& theirs,
                           MayDiffer may_differ, const char* runtime, OpAgreement& st) {
  const Graph& g = q.graph;
  for (int i = 1; i < int(g.nodes.size()); ++i) {
    const std::vector<int8_t> ours = int8_node(q, i, theirs);
    for (size_t k = 0; k < ours.size(); ++k) {
      const int d = std::abs(int(ours[k]) - int(theirs[size_t(i)][k]));
      ++st.values;
      st.off_by_one += d == 1;
      const OpKind kind = g.nodes[size_t(i)].kind;
      st.off_by_one_in_average_pools += d == 1 && (kind == OpKind::AvgPool || kind == OpKind::GlobalAvgPool);
      if (d > 1 || (d == 1 && !may_differ(g.nodes[size_t(i)].kind)))
        ADD_FAILURE() << g.nodes[size_t(i)].name << "[" << k << "]: reference " << int(ours[k]) << ", " << runtime
                      << " " << int(theirs[size_t(i)][k]);
    }
  }
}

}  // namespace mcuprune::test
