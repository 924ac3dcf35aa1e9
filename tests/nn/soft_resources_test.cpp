// The differentiable instance of the resource formulas: at integer widths it equals the
// exact integer model, and its gradient matches central finite differences.
#include <gtest/gtest.h>

#include "graph/zoo.h"
#include "nn/soft_resources.h"
#include "resources/memory.h"

namespace mcuprune {
namespace {

struct Resources {
  double flash, macs, latency, peak, persistent;
};

// Evaluates every resource with free channel counts `free` (double tensors) under `order`.
template <class T>
struct Eval {
  static std::vector<T> scratch_of(const GraphCosts<T>& c) {
    std::vector<T> s;
    for (const auto& o : c.ops) s.push_back(o.scratch_bytes);
    return s;
  }
};

Graph branching_graph() {
  // Residual, depthwise, concat and dense paths in one small graph.
  GraphBuilder b("mix", {8, 8, 3});
  int x = b.relu(b.batchnorm(b.conv(b.input(), 6, 3, 1, Padding::Same, "c1"), "c1_bn"), "c1_relu");
  int d = b.depthwise(x, 3, 2, Padding::Same, "dw");
  int p = b.conv(d, 6, 1, 1, Padding::Same, "pw");
  int s = b.conv(x, 6, 1, 2, Padding::Same, "short");
  int a = b.add({p, s}, "add");
  int c2 = b.conv(a, 5, 3, 1, Padding::Same, "c2");
  int cat = b.concat({a, c2}, "cat");
  int g = b.global_avgpool(cat, "gap");
  b.dense(g, 4, "logits");
  return b.finish();
}

void check_graph(const Graph& g, const char* what) {
  DeployedGraph d = deploy_view(g);
  const Board board = find_board("nucleo-f446re");
  const RuntimeProfile& rt = find_runtime("cmsis-nn");
  std::vector<int64_t> free_exact = exact_free_channels(d);

  // Exact model.
  std::vector<int64_t> ch = propagate_channels(d, free_exact);
  GraphCosts<int64_t> ex = graph_costs(d, ch, rt, board);
  std::vector<int64_t> ex_scratch = Eval<int64_t>::scratch_of(ex);
  MemorySchedule opt = schedule_optimal(d, ex.tensor_bytes, ex_scratch, false);

  // Soft model at the same (integer) widths, following the optimal order found exactly.
  auto soft = [&](const torch::Tensor& free_vec) {
    std::vector<torch::Tensor> free;
    for (int64_t k = 0; k < free_vec.size(0); ++k) free.push_back(free_vec[k]);
    std::vector<torch::Tensor> c = propagate_channels(d, free);
    GraphCosts<torch::Tensor> sc = graph_costs(d, c, rt, board);
    std::vector<torch::Tensor> scratch = Eval<torch::Tensor>::scratch_of(sc);
    OrderMemory<torch::Tensor> mem = order_memory(d, opt.order, sc.tensor_bytes, scratch, false);
    return std::vector<torch::Tensor>{sc.flash_bytes, sc.macs, sc.latency_ms, mem.peak_bytes,
                                      sc.persistent_ram_bytes};
  };
  torch::Tensor f0 = torch::tensor(std::vector<double>(free_exact.begin(), free_exact.end()),
                                   torch::kDouble);
  auto values = soft(f0);
  EXPECT_DOUBLE_EQ(values[0].item<double>(), double(ex.flash_bytes)) << what;
  EXPECT_DOUBLE_EQ(values[1].item<double>(), double(ex.macs)) << what;
  EXPECT_NEAR(values[2].item<double>(), ex.latency_ms, 1e-9 * ex.latency_ms) << what;
  EXPECT_DOUBLE_EQ(values[3].item<double>(), double(opt.peak_bytes)) << what;
  EXPECT_DOUBLE_EQ(values[4].item<double>(), double(ex.persistent_ram_bytes)) << what;

  // Gradients at a non-integer point (soft widths), against central differences. The
  // input channel count (index 0) is fixed data, so widths start at index 1. Each width
  // gets its own scale so that no two memory steps tie (the max has no derivative there).
  torch::Tensor point = f0.clone();
  for (int64_t k = 1; k < point.size(0); ++k)
    point[k] = point[k].item<double>() * (0.55 + 0.037 * double(k)) + 0.3;
  const char* names[] = {"flash", "macs", "latency", "peak", "persistent"};
  for (size_t r = 0; r < 5; ++r) {
    torch::Tensor x = point.clone().requires_grad_(true);
    torch::Tensor y = soft(x)[r];
    torch::Tensor grad = torch::autograd::grad({y}, {x})[0];
    const double h = 1e-4;
    for (int64_t k = 1; k < x.size(0); ++k) {
      torch::Tensor up = point.clone(), down = point.clone();
      up[k] += h;
      down[k] -= h;
      double fd = (soft(up)[r].item<double>() - soft(down)[r].item<double>()) / (2 * h);
      double ad = grad[k].item<double>();
      EXPECT_NEAR(ad, fd, 1e-6 * std::max(1.0, std::fabs(fd)))
          << what << ": d " << names[r] << " / d channels[" << k << "]";
    }
  }
}

TEST(SoftResources, MatchesExactModelAndFiniteDifferencesOnBranchingGraph) {
  check_graph(branching_graph(), "mix");
}

TEST(SoftResources, MatchesExactModelAndFiniteDifferencesOnZooModels) {
  ZooOptions o;
  o.input = {16, 16, 3};
  for (const char* m : {"resnet8", "dscnn", "tinycnn"}) check_graph(zoo_build(m, o), m);
}

TEST(SoftResources, PeakGradientReachesOnlyTheBottleneck) {
  // Chain input 4x4x4 -> c1 1x1 (8 ch) -> c2 1x1 (2 ch), reference runtime (no scratch).
  // Step 1 (c1): input 64 + c1 128 = 192. Step 2 (c2): c1 128 + c2 32 = 160. The peak is
  // step 1, so d peak / d c2 = 0 and d peak / d c1 = H*W = 16.
  GraphBuilder b("chain", {4, 4, 4});
  int x = b.conv(b.input(), 8, 1, 1, Padding::Same, "c1");
  b.conv(x, 2, 1, 1, Padding::Same, "c2");
  Graph g = b.finish();
  DeployedGraph d = deploy_view(g);
  const RuntimeProfile& rt = find_runtime("reference");
  torch::Tensor f = torch::tensor({4.0, 8.0, 2.0}, torch::kDouble).requires_grad_(true);
  std::vector<torch::Tensor> free = {f[0], f[1], f[2]};
  auto c = propagate_channels(d, free);
  auto costs = graph_costs(d, c, rt, find_board("rp2040"));
  std::vector<torch::Tensor> scratch;
  for (const auto& op : costs.ops) scratch.push_back(op.scratch_bytes);
  auto mem = order_memory(d, {0, 1}, costs.tensor_bytes, scratch, false);
  EXPECT_DOUBLE_EQ(mem.peak_bytes.item<double>(), 192.0);
  auto grad = torch::autograd::grad({mem.peak_bytes}, {f})[0];
  EXPECT_DOUBLE_EQ(grad[1].item<double>(), 16.0);
  EXPECT_DOUBLE_EQ(grad[2].item<double>(), 0.0);
  // The smooth peak bounds the max from above and sends some gradient to c2's step too.
  torch::Tensor sp = smooth_peak(mem.step_bytes, 50.0);
  EXPECT_GE(sp.item<double>(), mem.peak_bytes.item<double>());
  auto sgrad = torch::autograd::grad({sp}, {f})[0];
  EXPECT_GT(sgrad[2].item<double>(), 0.0);
}

}  // namespace
}  // namespace mcuprune
