// The pruning methods (diff and the baselines uniform, magnitude, dpf, unaware): each meets
// RAM, flash and MAC budgets on a small synthetic task; uniform's widths are one multiplier
// of the original widths; magnitude removes all-zero channels before any other; DPF's
// schedule is the cubic formula; a fallback, when one is needed, is recorded and fixes the
// budgets; straight-through gates pass the gradient of gated channels.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "common/expect_error.h"
#include "graph/channel_groups.h"
#include "graph/zoo.h"
#include "prune/fixtures.h"
#include "nn/train_internal.h"
#include "prune/internal.h"

namespace mcuprune {
namespace {

using namespace prune_detail;
using test::exact;
using test::quiet;
using test::TempDir;
using nlohmann::json;

PruneConfig budgeted(const std::string& method, const Graph& g) {
  PruneConfig c = test::fast_config(4);
  c.method = method;
  ResourceUse before = exact(g);
  c.budgets[Resource::Ram] = double(before.ram_bytes * 7 / 10);
  c.budgets[Resource::Flash] = double(before.flash_bytes * 6 / 10);
  c.budgets[Resource::Macs] = double(before.macs / 2);
  return c;
}

TEST(Methods, EachMeetsRamFlashAndMacBudgets) {
  DatasetSplits data = test::synthetic(16, 5);
  Graph g = test::residual_model();
  for (const std::string& m : prune_methods()) {
    PruneConfig c = budgeted(m, g);
    TempDir dir;
    PruneResult r = prune_model(g, nullptr, data, c, dir.path.string(), false, quiet());
    ResourceUse after = exact(r.graph);
    EXPECT_TRUE(r.budgets_met) << m;
    EXPECT_LE(after.ram_bytes, *c.budgets[Resource::Ram]) << m;
    EXPECT_LE(after.flash_bytes, *c.budgets[Resource::Flash]) << m;
    EXPECT_LE(after.macs, *c.budgets[Resource::Macs]) << m;
    EXPECT_LT(after.macs, exact(g).macs) << m;
    ASSERT_EQ(r.history.size(), 4u) << m;
    EXPECT_TRUE(r.history.back().pruning_done) << m;
    // No method needs a rescue on this easy task.
    EXPECT_TRUE(r.fallbacks.empty()) << m << ": " << (r.fallbacks.empty() ? "" : r.fallbacks[0].detail);
  }
}

TEST(Methods, UniformWidthsAreOneMultiplierOfTheOriginal) {
  DatasetSplits data = test::synthetic(8, 6);
  Graph g = test::residual_model();
  PruneConfig c = budgeted("uniform", g);
  c.train.epochs = 2;
  c.finetune_epochs = 0;  // epoch 1 warm-up, epoch 2 the (only) pruning epoch
  TempDir dir;
  PruneResult r = prune_model(g, nullptr, data, c, dir.path.string(), false, quiet());
  ASSERT_TRUE(r.budgets_met);
  // From the first step on the model has its final widths: uniform trains it from scratch.
  EXPECT_EQ(r.history.front().channels, r.history.back().channels);
  ChannelGroups before = find_channel_groups(g), after = find_channel_groups(r.graph);
  // Some multiplier f gives every prunable group round(f * C): the intervals of f that
  // round to each width must intersect.
  double lo = 0, hi = 1;
  for (size_t k = 0; k < before.groups.size(); ++k) {
    if (!before.groups[k].prunable) continue;
    const double C = before.groups[k].channels, w = after.groups[k].channels;
    lo = std::max(lo, (w - 0.5) / C);
    hi = std::min(hi, (w + 0.5) / C);
    EXPECT_LT(w, C) << "group " << k;
  }
  EXPECT_LE(lo, hi) << "widths are not one multiplier of the original widths";
}

TEST(Methods, MagnitudeRanksAllZeroChannelsFirst) {
  Graph g = test::residual_model();
  torch::manual_seed(4);
  State s;
  s.graph = g;
  s.net = Net(g);
  s.groups = find_channel_groups(g);
  WeightMap w = s.net->weight_map();
  // Zero channel 5 of c3 and channel 2 of the residual group (both of its producers).
  auto zero_row = [&](const std::string& name, int row) {
    WeightTensor& t = w.at(name + ".weight");
    int64_t inner = t.numel() / t.shape[0];
    for (int64_t e = 0; e < inner; ++e) t.data[size_t(row * inner + e)] = 0;
  };
  zero_row("c3", 5);
  zero_row("c1", 2);
  zero_row("c2", 2);
  s.net->load_weight_map(w, "test");
  const int g3 = s.groups.layout[size_t(g.find("c3"))].segments[0].group;
  const int g1 = s.groups.layout[size_t(g.find("c1"))].segments[0].group;
  for (const std::string norm : {"l1", "l2"}) {
    auto scores = normalized_weight_norms(s, norm);
    GlobalRanking r = rank_globally(s.groups, scores);
    ASSERT_GE(r.order.size(), 2u);
    std::set<std::pair<int, int>> first = {r.order[0], r.order[1]};
    EXPECT_TRUE(first.count({g3, 5})) << norm;
    EXPECT_TRUE(first.count({g1, 2})) << norm;
    // Removing two channels takes exactly those.
    std::vector<int> widths = widths_after_removing(s.groups, r, 2, 1);
    EXPECT_EQ(widths[size_t(g3)], 23);
    EXPECT_EQ(widths[size_t(g1)], 15);
    // Scores are normalised per group: each group's mean is 1.
    for (const ChannelGroup& grp : s.groups.groups) {
      if (!grp.prunable) continue;
      double mean = 0;
      for (float v : scores[size_t(grp.id)]) mean += v;
      EXPECT_NEAR(mean / grp.channels, 1.0, 1e-4);
    }
  }
}

TEST(Methods, DpfScheduleIsCubic) {
  // s_t = s_f + (s_i - s_f) (1 - (t - t0) / n)^3 with s_i = 0, as a fraction of s_f.
  const int64_t n = 200;
  for (int64_t dt : {0, 1, 17, 50, 100, 150, 199, 200, 260}) {
    double x = std::min(1.0, double(dt) / n);
    double want = 1.0 + (0.0 - 1.0) * std::pow(1 - x, 3);
    EXPECT_NEAR(dpf_schedule_fraction(dt, n), want, 1e-12) << dt;
  }
  EXPECT_EQ(dpf_schedule_fraction(0, n), 0.0);
  EXPECT_EQ(dpf_schedule_fraction(n, n), 1.0);
  // Front-loaded: half the steps reach 7/8 of the final sparsity.
  EXPECT_NEAR(dpf_schedule_fraction(n / 2, n), 0.875, 1e-12);
}

TEST(Methods, FallbackIsRecordedAndCutsWhereTheBudgetBinds) {
  // Widths that barely move (tiny width learning rate) leave diff over budget at the end of
  // its pruning phase: the fallback must fix the budget and say so.
  DatasetSplits data = test::synthetic(8, 7);
  Graph g = test::residual_model();
  PruneConfig c = test::fast_config(3);
  c.alpha_lr = 1e-7;
  c.budgets[Resource::Flash] = double(exact(g).flash_bytes * 6 / 10);
  TempDir dir;
  PruneResult r = prune_model(g, nullptr, data, c, dir.path.string(), false, quiet());
  ASSERT_EQ(r.fallbacks.size(), 1u);
  EXPECT_EQ(r.fallbacks[0].kind, "greedy-fit");
  EXPECT_EQ(r.fallbacks[0].epoch, 2);
  EXPECT_GT(r.fallbacks[0].before.flash_bytes, *c.budgets[Resource::Flash]);
  EXPECT_LE(r.fallbacks[0].after.flash_bytes, *c.budgets[Resource::Flash]);
  EXPECT_TRUE(r.budgets_met);
  EXPECT_NE(r.fallbacks[0].detail.find("flash"), std::string::npos);
  // A 40% cut spread where flash is: no group is cut to the bone.
  ChannelGroups before = find_channel_groups(g), after = find_channel_groups(r.graph);
  for (size_t k = 0; k < before.groups.size(); ++k)
    if (before.groups[k].prunable) {
      EXPECT_GT(after.groups[k].channels * 4, before.groups[k].channels) << "group " << k;
    }
  // The record survives in the checkpoint (resume keeps it).
  PruneConfig c4 = read_prune_config(dir.path.string());
  c4.train.epochs = 4;
  PruneResult r2 = prune_model(g, nullptr, data, c4, dir.path.string(), true, quiet());
  ASSERT_EQ(r2.fallbacks.size(), 1u);
  EXPECT_EQ(r2.fallbacks[0].detail, r.fallbacks[0].detail);
}

TEST(Methods, BaselinesRefuseMinimizeWithoutBudgetAndUnknownNames) {
  Graph g = test::residual_model();
  PruneConfig c = test::fast_config(3);
  c.method = "magnitude";
  c.minimize = {"macs"};
  EXPECT_TRUE(test::Contains(test::user_error_of([&] { check_prune_feasible(g, c); }), "--minimize works with --method diff only"));
  PruneConfig bad = test::fast_config(3);
  bad.method = "lottery";
  bad.budgets[Resource::Macs] = 1000.0;
  EXPECT_TRUE(test::Contains(test::user_error_of([&] { check_prune_feasible(g, bad); }), "--method must be one of"));
}

TEST(Gates, StraightThroughGatesPassTheGradientOfGatedChannels) {
  Graph g = test::residual_model();
  torch::manual_seed(5);
  Net net(g);
  net->train();
  ChannelGroups cg = find_channel_groups(g);
  const int grp = cg.layout[size_t(g.find("c3"))].segments[0].group;
  std::vector<torch::Tensor> masks(cg.groups.size());
  masks[size_t(grp)] = torch::ones({24});
  masks[size_t(grp)][3] = 0;
  torch::Tensor x = torch::randn({4, 1, 12, 12});
  auto c3_row_grad = [&](bool straight) {
    net->zero_grad();
    net->set_gates(cg, masks, straight);
    net->forward(x).pow(2).sum().backward();
    for (const auto& p : net->named_parameters())
      if (ir_param_name(g, p.key()) == "c3.weight") return p.value().grad()[3].abs().sum().item<double>();
    return -1.0;
  };
  EXPECT_EQ(c3_row_grad(false), 0.0);  // a plain gate blocks the gated channel's gradient
  EXPECT_GT(c3_row_grad(true), 0.0);   // feedback: the dense weights still learn
  // Both compute the same forward pass.
  torch::NoGradGuard ng;
  net->set_gates(cg, masks, false);
  torch::Tensor a = net->forward(x);
  net->set_gates(cg, masks, true);
  EXPECT_LT((net->forward(x) - a).abs().max().item<double>(), 1e-6);
}

}  // namespace
}  // namespace mcuprune

namespace mcuprune {
namespace {

using namespace prune_detail;

// Groups whose channels are live in a step whose memory is over `ram_budget`.
std::set<int> groups_in_steps_over(const Graph& g, int64_t ram_budget) {
  Profile p = profile_graph(g, find_board("nucleo-f446re"), ProfileOptions{});
  ChannelGroups cg = find_channel_groups(g);
  std::set<int> out;
  for (const OpRow& row : p.rows) {
    if (row.live_bytes + p.persistent_ram_bytes <= ram_budget) continue;
    for (int t : row.live_tensors) {
      int producer = p.deployed.tensors[size_t(t)].producer;
      if (producer < 0) continue;
      for (const ChannelSegment& seg : cg.layout[size_t(p.deployed.ops[size_t(producer)].ir_node)].segments)
        out.insert(seg.group);
    }
  }
  return out;
}

TEST(Diff, RamBudgetPrunesOnlyTheGroupsOfTheStepsOverIt) {
  // tinycnn's peak is set by its first layer (16x16x16 after conv1); conv2's 24 channels
  // live only in steps far below a budget of 80% of the peak.
  ZooOptions zo;
  zo.input = {16, 16, 1};
  zo.classes = 4;
  Graph g = zoo_build("tinycnn", zo);
  DatasetSplits data = test::quadrant_task(16, 16, 9);
  PruneConfig c = test::fast_config(4);
  c.budgets[Resource::Ram] = double(exact(g).ram_bytes * 8 / 10);
  std::set<int> binding = groups_in_steps_over(g, *c.budgets[Resource::Ram]);
  TempDir dir;
  PruneResult r = prune_model(g, nullptr, data, c, dir.path.string(), false, quiet());
  ASSERT_TRUE(r.budgets_met);
  EXPECT_TRUE(r.fallbacks.empty());
  ChannelGroups before = find_channel_groups(g), after = find_channel_groups(r.graph);
  int untouched = 0;
  for (size_t k = 0; k < before.groups.size(); ++k) {
    if (!before.groups[k].prunable) continue;
    if (binding.count(int(k))) {
      EXPECT_LT(after.groups[k].channels, before.groups[k].channels) << "binding group " << k;
    } else {
      ++untouched;
      EXPECT_GE(after.groups[k].channels * 10, before.groups[k].channels * 9)
          << "group " << k << " is in no step over the budget but went " << before.groups[k].channels << " -> "
          << after.groups[k].channels;
    }
  }
  EXPECT_GT(untouched, 0);  // the test means something only if such a group exists
}

// In a real run: right after each surgery, the soft model at the new (integer) widths gives
// exactly the exact model's RAM, flash, MACs, latency and parameters. Returns the worst
// relative difference; counts surgeries and those after which the soft model used a patch plan.
double soft_vs_exact_after_surgeries(const std::string& runtime, int& surgeries, int& planned) {
  DatasetSplits data = test::synthetic(16, 10);
  Graph g = test::residual_model();
  PruneConfig c = test::fast_config(4);
  c.runtime = runtime;
  c.patch = "auto";  // used where the runtime runs patches
  const Target t0 = resolve_target(c);
  c.budgets[Resource::Ram] = double(exact_of(g, t0).ram_bytes * 7 / 10);
  c.budgets[Resource::Flash] = double(exact_of(g, t0).flash_bytes / 2);
  const Target t = resolve_target(c);
  surgeries = planned = 0;
  double worst = 0;
  surgery_observer() = [&](const State& s) {
    ++surgeries;
    SoftModel m = build_soft(s.graph, s.groups, t);
    planned += m.patch.has_value();
    std::vector<torch::Tensor> widths(s.groups.groups.size());
    for (const ChannelGroup& grp : s.groups.groups)
      if (grp.prunable) widths[size_t(grp.id)] = torch::tensor(double(grp.channels), torch::kDouble);
    SoftResources soft = soft_resources(m, widths, t);
    ResourceUse ex = exact_of(s.graph, t);
    for (int k = 0; k < 4; ++k)
      worst = std::max(worst, std::fabs(soft.value[k].item<double>() - ex[Resource(k)]) / std::max(1e-9, ex[Resource(k)]));
    worst = std::max(worst, std::fabs(soft.params.item<double>() - double(ex.params)) / double(ex.params));
  };
  TempDir dir;
  PruneResult r = prune_model(g, nullptr, data, c, dir.path.string(), false, quiet());
  surgery_observer() = nullptr;
  EXPECT_TRUE(r.budgets_met);
  EXPECT_TRUE(r.fallbacks.empty());
  return worst;
}

TEST(Diff, SoftResourcesEqualExactAfterEverySurgery) {
  int surgeries = 0, planned = 0;
  const double worst = soft_vs_exact_after_surgeries("", surgeries, planned);
  EXPECT_GT(surgeries, 0);
  EXPECT_EQ(planned, 0);  // the board's runtime (TFLite) runs layer by layer
  EXPECT_LT(worst, 1e-9);
}

TEST(Diff, SoftResourcesEqualExactWithPatchPlans) {
  // mcuprune's runtime: the first stage runs in patches (--patch auto, re-planned after each
  // surgery); the soft model's RAM, MACs, latency and flash are the plan's.
  int surgeries = 0, planned = 0;
  const double worst = soft_vs_exact_after_surgeries("mcuprune", surgeries, planned);
  EXPECT_GT(surgeries, 0);
  EXPECT_GT(planned, 0);
  EXPECT_LT(worst, 1e-9);
}

// A pruning state of `g` ready for a method's steps: its net, optimizer, groups and a zero
// salience.
State fresh_state(const Graph& g, const PruneConfig& c) {
  State s;
  s.graph = g;
  s.net = Net(g);
  s.opt = detail::make_optimizer(c.train, s.net);
  s.groups = find_channel_groups(g, c.min_width, c.round_to);
  for (const ChannelGroup& grp : s.groups.groups) s.salience.emplace_back(size_t(grp.channels), 0.0f);
  return s;
}

// One training step of `m` on a random batch, in a pruning phase of 2 epochs of 10 steps,
// as the loop runs it: gates, forward, backward, optimizer step, the method's step.
void one_training_step(Method& m, State& s, StepContext ctx = {0, 0, 10, 0, 2}) {
  torch::Tensor x = torch::randn({8, 1, 12, 12}), y = torch::randint(0, 4, {8}, torch::kLong);
  m.before_forward(s, ctx);
  torch::Tensor loss = torch::nn::functional::cross_entropy(s.net->forward(x, true), y);
  s.opt->zero_grad();
  loss.backward();
  s.opt->step();
  m.after_step(s, ctx);
}

// One step of diff on one batch with the dual multipliers of RAM and flash at `mu_ram` and
// `mu_flash`: the salience it records and the widths it reaches.
std::pair<std::vector<std::vector<float>>, json> one_diff_step(double mu_ram, double mu_flash) {
  Graph g = test::residual_model();
  PruneConfig c = test::fast_config(4);
  c.budgets[Resource::Ram] = double(exact(g).ram_bytes / 2);
  c.budgets[Resource::Flash] = double(exact(g).flash_bytes / 2);
  const Target t = resolve_target(c);
  torch::manual_seed(3);
  State s = fresh_state(g, c);
  std::unique_ptr<Method> m = make_method(c, t);
  m->start(s);
  json st = m->save();
  st.at("mu")[0] = mu_ram;
  st.at("mu")[1] = mu_flash;
  m->load(s, "test", st);
  one_training_step(*m, s);
  return {s.salience, m->save().at("alpha")};
}

TEST(Diff, SalienceIsTheSameWhateverTheDualMultipliers) {
  // Salience reads the task loss only: the resource terms (weighted by the multipliers) move
  // the widths, never the channel ranking.
  // The width step is normalised, so only the multipliers' ratio steers it: swap which
  // budget dominates.
  auto [sal0, alpha0] = one_diff_step(1e3, 1e-3);
  auto [sal1, alpha1] = one_diff_step(1e-3, 1e3);
  EXPECT_NE(alpha0, alpha1);  // the multipliers did act (on the widths)
  ASSERT_EQ(sal0.size(), sal1.size());
  double total = 0;
  for (size_t g = 0; g < sal0.size(); ++g) {
    EXPECT_EQ(sal0[g], sal1[g]) << "group " << g;
    for (float v : sal0[g]) total += v;
  }
  EXPECT_GT(total, 0);  // and there was salience to compare
}

// diff's widths before and after one step with a flash budget of `budget_share` of the
// model's. With the task term off (task_weight 0) and the budget far below, each group moves
// by the soft flash's gradient alone; with the budget met, by the task term alone.
struct FlashStep {
  std::vector<double> before, after, gradient;  // alpha, and dFlash/dalpha at `before`
  std::vector<int> channels;
  double lr = 0;
};
FlashStep one_flash_step(const std::string& width_step, double task_weight = 0, double budget_share = 0.1,
                         double alpha_lr = 0, double width_ramp = 0, StepContext ctx = {0, 0, 10, 0, 2}) {
  Graph g = test::residual_model();
  PruneConfig c = test::fast_config(4);
  c.task_weight = task_weight;
  c.width_step = width_step;
  c.alpha_lr = alpha_lr;
  c.width_ramp = width_ramp;
  c.budgets[Resource::Flash] = double(exact(g).flash_bytes) * budget_share;
  const Target t = resolve_target(c);
  torch::manual_seed(4);
  State s = fresh_state(g, c);
  std::unique_ptr<Method> m = make_method(c, t);
  m->start(s);
  json st = m->save();
  FlashStep r;
  for (size_t k = 0; k < st.at("alpha").size(); ++k) st.at("alpha")[k] = 0.3 + 0.1 * double(k % 7);
  r.before = st.at("alpha").get<std::vector<double>>();
  m->load(s, "test", st);
  // The soft flash's gradient at the starting widths, from the soft model directly.
  torch::Tensor a = torch::tensor(r.before, torch::kDouble).requires_grad_(true);
  std::vector<torch::Tensor> widths(s.groups.groups.size());
  for (const ChannelGroup& grp : s.groups.groups) {
    r.channels.push_back(grp.channels);
    if (grp.prunable) widths[size_t(grp.id)] = a[grp.id] * double(grp.channels);
  }
  torch::Tensor flash = soft_resources(build_soft(s.graph, s.groups, t), widths, t).value[int(Resource::Flash)];
  flash.backward();
  r.gradient.assign(a.grad().data_ptr<double>(), a.grad().data_ptr<double>() + a.numel());
  r.lr = alpha_lr > 0 ? alpha_lr : 6.0 / 20;  // automatic: 6 / the 20 steps of the pruning phase
  one_training_step(*m, s, ctx);
  r.after = m->save().at("alpha").get<std::vector<double>>();
  return r;
}

// Whether one warm-up step at `step` of epoch 1 of 1000 steps (pruning from epoch 2) measures
// Taylor salience (the salience changes) under --salience-decay `decay`.
bool warmup_step_measures(int64_t step, double decay) {
  Graph g = test::residual_model();
  PruneConfig c = test::fast_config(4);
  c.salience_decay = decay;
  c.budgets[Resource::Flash] = double(exact(g).flash_bytes) / 2;
  const Target t = resolve_target(c);
  torch::manual_seed(6);
  State s = fresh_state(g, c);
  std::unique_ptr<Method> m = make_method(c, t);
  m->start(s);
  s.global_step = step;
  const auto before = s.salience;
  one_training_step(*m, s, StepContext{0, step, 1000, 1, 2});
  return s.salience != before;
}

TEST(Diff, TheWarmUpMeasuresSalienceOnlyWhereItStillWeighsWhenPruningStarts) {
  // Decay 0.9: measurements older than the last 66 weigh under 1e-3 in all, so only every 4th
  // of the last 4 * 66 = 264 warm-up steps measures.
  EXPECT_TRUE(warmup_step_measures(1000 - 264, 0.9));
  EXPECT_TRUE(warmup_step_measures(996, 0.9));
  EXPECT_FALSE(warmup_step_measures(997, 0.9));  // not a 4th step
  EXPECT_FALSE(warmup_step_measures(1000 - 268, 0.9));
  EXPECT_FALSE(warmup_step_measures(0, 0.9));
  // A longer average (0.99: the last 688 measurements) reaches back further.
  EXPECT_TRUE(warmup_step_measures(1000 - 268, 0.99));
  EXPECT_TRUE(warmup_step_measures(0, 0.99));
}

TEST(Diff, TheWidthRampScalesTheStepUpOverItsShareOfThePruningPhase) {
  // --width-ramp 0.5 over a 20-step phase (2 epochs of 10 steps): step t of the phase moves
  // the widths by (t + 1) / 10 of the full step until step 9, then by the full step. The
  // phase's steps count from its first epoch (here after a 1-epoch warm-up too).
  const FlashStep full = one_flash_step("linear");
  auto moved = [](const FlashStep& r) {
    double total = 0;
    for (size_t k = 0; k < r.before.size(); ++k) total += std::abs(r.after[k] - r.before[k]);
    return total;
  };
  ASSERT_GT(moved(full), 0);
  const auto ramp = [&](double share, StepContext ctx) { return moved(one_flash_step("linear", 0, 0.1, 0, share, ctx)); };
  EXPECT_NEAR(ramp(0.5, {0, 0, 10, 0, 2}) / moved(full), 0.1, 1e-6);
  EXPECT_NEAR(ramp(0.5, {0, 4, 10, 0, 2}) / moved(full), 0.5, 1e-6);
  EXPECT_NEAR(ramp(0.5, {1, 2, 10, 0, 2}) / moved(full), 1.0, 1e-6);  // step 12 of the phase
  EXPECT_NEAR(ramp(0, {1, 2, 10, 0, 2}) / moved(full), 1.0, 1e-6);    // no ramp
  EXPECT_NEAR(ramp(0.5, {1, 4, 10, 1, 3}) / moved(full), 0.5, 1e-6);  // step 4 after a warm-up epoch
  EXPECT_NEAR(ramp(0.5, {2, 0, 10, 1, 3}) / moved(full), 1.0, 1e-6);  // step 10 after it
}

TEST(Diff, TheTaskTermMovesTheWidthsInProportionToItsWeight) {
  // With every budget met the resource term is zero: the task term alone moves the widths,
  // by --task-weight times its normalised gradient (on alpha, or on log(alpha) for relative;
  // per channel for channel).
  for (const std::string step : {"linear", "relative", "channel"}) {
    FlashStep half = one_flash_step(step, 0.5, 10, 0.01), one = one_flash_step(step, 1, 10, 0.01),
              off = one_flash_step(step, 0, 10, 0.01);
    int moved = 0;
    for (size_t k = 0; k < half.before.size(); ++k) {
      EXPECT_EQ(off.after[k], off.before[k]) << step << " group " << k;  // no term at all moves nothing
      const auto change = [&](const FlashStep& r) {
        return step == "relative" ? std::log(r.after[k] / r.before[k]) : r.after[k] - r.before[k];
      };
      EXPECT_NEAR(change(one), 2 * change(half), 1e-9) << step << " group " << k;
      moved += change(half) != 0;
    }
    EXPECT_GT(moved, 1) << step;
  }
}

TEST(Diff, LinearWidthStepMovesEachGroupByWhatItsWidthCosts) {
  // alpha_g -= lr * (dF/dalpha_g / max) * n_g / (n_g + 4): the largest gradient moves most.
  FlashStep r = one_flash_step("linear");
  double gmax = 0;
  for (double v : r.gradient) gmax = std::max(gmax, std::fabs(v));
  ASSERT_GT(gmax, 0);
  int moved = 0;
  for (size_t k = 0; k < r.before.size(); ++k) {
    if (r.gradient[k] == 0) continue;
    const double n = r.before[k] * r.channels[k];
    const double want = std::max(r.before[k] - r.lr * r.gradient[k] / gmax * n / (n + 4), 1.0 / r.channels[k]);
    EXPECT_NEAR(r.after[k], want, 1e-9) << "group " << k;
    moved += r.after[k] < r.before[k];
  }
  EXPECT_GT(moved, 1);
}

TEST(Diff, RelativeWidthStepMovesEachGroupByItsShareOfTheCost) {
  // log(alpha_g) -= lr * (alpha_g * dF/dalpha_g / max) * n_g / (n_g + 4): a group's fraction
  // shrinks with its share of the flash, whatever its width's price per channel.
  FlashStep r = one_flash_step("relative");
  double smax = 0;
  for (size_t k = 0; k < r.before.size(); ++k) smax = std::max(smax, std::fabs(r.before[k] * r.gradient[k]));
  ASSERT_GT(smax, 0);
  int moved = 0;
  for (size_t k = 0; k < r.before.size(); ++k) {
    if (r.gradient[k] == 0) continue;
    const double n = r.before[k] * r.channels[k];
    const double step = r.lr * r.before[k] * r.gradient[k] / smax * n / (n + 4);
    EXPECT_NEAR(r.after[k], std::max(r.before[k] * std::exp(-step), 1.0 / r.channels[k]), 1e-9) << "group " << k;
    moved += r.after[k] < r.before[k];
  }
  EXPECT_GT(moved, 1);
  // The two rules differ where the widths differ.
  EXPECT_NE(r.after, one_flash_step("linear").after);
}

TEST(Diff, ChannelWidthStepMovesEachGroupByWhatOneOfItsChannelsCosts) {
  // alpha_g -= lr * (dF/dc_g / max) * n_g / (n_g + 4), dF/dc_g = dF/dalpha_g / C_g: the
  // group whose channel costs most moves most, whatever its number of channels.
  FlashStep r = one_flash_step("channel");
  double pmax = 0;
  for (size_t k = 0; k < r.before.size(); ++k) pmax = std::max(pmax, std::fabs(r.gradient[k] / r.channels[k]));
  ASSERT_GT(pmax, 0);
  int moved = 0;
  for (size_t k = 0; k < r.before.size(); ++k) {
    if (r.gradient[k] == 0) {
      EXPECT_EQ(r.after[k], r.before[k]) << "group " << k << " costs nothing but moved";
      continue;
    }
    const double n = r.before[k] * r.channels[k];
    const double step = r.lr * r.gradient[k] / r.channels[k] / pmax * n / (n + 4);
    EXPECT_NEAR(r.after[k], std::max(r.before[k] - step, 1.0 / r.channels[k]), 1e-9) << "group " << k;
    moved += r.after[k] < r.before[k];
  }
  EXPECT_GT(moved, 1);
  // It differs from linear where the groups' channel counts differ.
  EXPECT_NE(r.after, one_flash_step("linear").after);
  // The task term alone (every budget met) is taken per channel too: channel's change times
  // C_g over linear's is one constant (max|T| / max|T / C|) for every group that moved.
  FlashStep lin = one_flash_step("linear", 0.5, 10, 0.01), ch = one_flash_step("channel", 0.5, 10, 0.01);
  std::vector<double> ratio;
  for (size_t k = 0; k < lin.before.size(); ++k)
    if (lin.after[k] != lin.before[k])
      ratio.push_back((ch.after[k] - ch.before[k]) * ch.channels[k] / (lin.after[k] - lin.before[k]));
  ASSERT_GE(ratio.size(), 2u);
  for (double v : ratio) EXPECT_NEAR(v, ratio[0], 1e-9 * std::fabs(ratio[0]));
  EXPECT_NE(ch.after, lin.after);
}

TEST(Diff, EvenWidthStepShrinksEveryCostlyGroupByTheSameFraction) {
  // log(alpha_g) -= lr * n_g / (n_g + 4) for every group with a flash cost: a uniform
  // multiplier (up to the thin-group factor), whatever each group's share.
  FlashStep r = one_flash_step("even");
  int moved = 0;
  for (size_t k = 0; k < r.before.size(); ++k) {
    if (r.gradient[k] <= 0) {
      EXPECT_EQ(r.after[k], r.before[k]) << "group " << k << " costs nothing but moved";
      continue;
    }
    const double n = r.before[k] * r.channels[k];
    EXPECT_NEAR(r.after[k], std::max(r.before[k] * std::exp(-r.lr * n / (n + 4)), 1.0 / r.channels[k]), 1e-9)
        << "group " << k;
    moved += r.after[k] < r.before[k];
  }
  EXPECT_GT(moved, 1);
}

// The network's output on one batch in eval mode: with diff's soft masks at widths of 0.6
// (before), then after pruning_ended and without gates (after).
std::pair<torch::Tensor, torch::Tensor> outputs_around_pruning_end(bool fold) {
  Graph g = test::residual_model();
  PruneConfig c = test::fast_config(4);
  c.fold_masks = fold;
  c.budgets[Resource::Ram] = double(exact(g).ram_bytes / 2);
  const Target t = resolve_target(c);
  torch::manual_seed(5);
  State s = fresh_state(g, c);
  for (auto& sal : s.salience)
    for (float& v : sal) v = torch::rand({1}).item<float>();
  std::unique_ptr<Method> m = make_method(c, t);
  m->start(s);
  json st = m->save();
  for (auto& a : st.at("alpha")) a = 0.6;
  m->load(s, "test", st);
  StepContext ctx;
  ctx.steps_per_epoch = 10;
  ctx.prune_end_epoch = 2;
  const torch::Tensor x = torch::randn({8, 1, 12, 12});
  s.net->eval();
  m->before_forward(s, ctx);
  torch::NoGradGuard ng;
  const torch::Tensor before = s.net->forward(x);
  m->pruning_ended(s);
  s.net->clear_gates();
  return {before, s.net->forward(x)};
}

TEST(Diff, FoldingTheMasksKeepsWhatTheNetworkComputes) {
  // When pruning ends the gates go: folded into the weights (--fold-masks), the network
  // computes what it did behind its masks; dropped (the default), the kept channels near the
  // cut jump from their mask value to 1 and the output changes.
  auto [gated, folded] = outputs_around_pruning_end(true);
  EXPECT_LT((gated - folded).abs().max().item<double>(), 1e-5);
  auto [gated_too, dropped] = outputs_around_pruning_end(false);
  EXPECT_LT((gated - gated_too).abs().max().item<double>(), 1e-6);  // the same start
  EXPECT_GT((gated_too - dropped).abs().max().item<double>(), 1e-2);
}

}  // namespace
}  // namespace mcuprune
