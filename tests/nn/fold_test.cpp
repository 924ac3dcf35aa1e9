// BatchNorm folding and activation fusion compute the same function in inference mode.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "graph/zoo.h"
#include "nn/net.h"
#include "quant/fold.h"

namespace mcuprune {
namespace {

TEST(Fold, FoldedModelEqualsOriginalOnEveryZooModel) {
  std::mt19937_64 rng(4);
  for (const auto& e : zoo_entries())
    for (Shape in : {Shape{28, 28, 1}, Shape{32, 32, 3}, Shape{49, 10, 1}}) {
      ZooOptions o;
      o.input = in;
      Graph g = zoo_build(e.name, o);
      torch::manual_seed(int64_t(rng() % 1000));
      Net net(g);
      WeightMap w = net->weight_map();
      for (auto& [name, t] : w) {  // non-trivial BatchNorm parameters and statistics
        auto ends = [&](const char* s) { return name.size() > std::strlen(s) && name.compare(name.size() - std::strlen(s), std::strlen(s), s) == 0; };
        if (ends(".running_mean") || ends(".beta"))
          for (float& v : t.data) v = float(int(rng() % 200) - 100) / 200.0f;
        if (ends(".running_var") || ends(".gamma"))
          for (float& v : t.data) v = 0.5f + float(rng() % 100) / 100.0f;
      }
      net->load_weight_map(w, "test");
      net->eval();
      FoldedModel f = fold_for_inference(g, w);
      for (const Node& n : f.graph.nodes) {
        EXPECT_NE(n.kind, OpKind::BatchNorm) << e.name;
        EXPECT_NE(n.kind, OpKind::Dropout) << e.name;
      }
      EXPECT_EQ(graph_params(f.graph), graph_params(g)) << e.name;  // folding adds no parameters
      Net folded(f.graph);
      folded->load_weight_map(f.weights, "folded");
      folded->eval();
      torch::NoGradGuard ng;
      torch::Tensor x = torch::randn({2, in.c, in.h, in.w});
      torch::Tensor a = net->forward(x), b = folded->forward(x);
      double err = (a - b).abs().max().item<double>(), scale = a.abs().max().item<double>();
      EXPECT_LE(err, 1e-4 * std::max(1.0, scale)) << e.name << " at " << in.str();
    }
}

TEST(Fold, LoneBatchNormBecomesDepthwiseAndReluAfterPoolStays) {
  GraphBuilder b("t", {6, 6, 2});
  int p = b.maxpool(b.input(), 2, 2, Padding::Valid, "pool");
  int r = b.relu(p, "relu");              // nothing to fuse into
  int bn = b.batchnorm(r, "bn");          // nothing to fold into
  b.dense(b.flatten(bn, "flat"), 3, "logits");
  Graph g = b.finish();
  torch::manual_seed(1);
  Net net(g);
  WeightMap w = net->weight_map();
  for (float& v : w.at("bn.running_mean").data) v = 0.3f;
  for (float& v : w.at("bn.gamma").data) v = 1.7f;
  net->load_weight_map(w, "t");
  net->eval();
  FoldedModel f = fold_for_inference(g, w);
  ASSERT_GE(f.graph.find("bn"), 0);
  EXPECT_EQ(f.graph.nodes[size_t(f.graph.find("bn"))].kind, OpKind::DepthwiseConv2D);
  EXPECT_EQ(f.graph.nodes[size_t(f.graph.find("relu"))].kind, OpKind::ReLU);
  Net folded(f.graph);
  folded->load_weight_map(f.weights, "f");
  folded->eval();
  torch::NoGradGuard ng;
  torch::Tensor x = torch::randn({2, 2, 6, 6});
  EXPECT_LT((net->forward(x) - folded->forward(x)).abs().max().item<double>(), 1e-5);
}

}  // namespace
}  // namespace mcuprune
