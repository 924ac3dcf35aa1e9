// The pruning method: gates act exactly where surgery cuts, the soft width's gradient, a
// prune run on a tiny synthetic set meets every budget under the exact model (for every
// importance), impossible budgets are clear errors, and resume continues the run.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/expect_error.h"
#include "common/synthetic.h"
#include "prune/fixtures.h"
#include "graph/channel_groups.h"
#include "graph/zoo.h"
#include "nn/net.h"
#include "nn/train_internal.h"
#include "prune/internal.h"
#include "prune/prune.h"

namespace mcuprune {
namespace {

namespace fs = std::filesystem;
using test::Contains;
using test::user_error_of;

using test::exact;
using test::quiet;
using test::synthetic;
using test::TempDir;
Graph model() { return test::residual_model(); }
PruneConfig config(int epochs) { return test::fast_config(epochs); }

TEST(Gates, HardMasksEqualSurgery) {
  // Gates of 0/1 at the consumers give the same function as removing those channels.
  Graph g = model();
  torch::manual_seed(2);
  Net net(g);
  net->eval();
  WeightMap w = net->weight_map();
  ChannelGroups cg = find_channel_groups(g);
  int grp = cg.layout[size_t(g.find("c1"))].segments[0].group;
  std::vector<int> keep = {1, 4, 5, 9, 12};
  torch::Tensor mask = torch::zeros({16});
  for (int k : keep) mask[k] = 1;
  std::vector<torch::Tensor> masks(cg.groups.size());
  masks[size_t(grp)] = mask;
  net->set_gates(cg, masks);
  torch::Tensor x = torch::randn({2, 1, 12, 12});
  torch::NoGradGuard ng;
  torch::Tensor gated = net->forward(x);
  WeightMap pw = w;
  Graph pg = prune_group(g, cg, grp, keep, &pw);
  Net pruned(pg);
  pruned->load_weight_map(pw, "test");
  pruned->eval();
  torch::Tensor want = pruned->forward(x);
  EXPECT_LT((gated - want).abs().max().item<double>(), 1e-4);
  net->clear_gates();
  EXPECT_GT((net->forward(x) - want).abs().max().item<double>(), 1e-4);  // the gate mattered
}

TEST(Surgery, CarriesTheOptimizerState) {
  // Adam's moments survive a cut, sliced to the kept channels: found under the optimizer's own
  // key for each parameter (its format differs between LibTorch versions), never started afresh.
  for (const std::string optimizer : {"adam", "sgd"}) {
    prune_detail::State s;
    s.graph = model();
    PruneConfig c = config(1);
    c.train.optimizer = optimizer;
    c.train.momentum = 0.9;
    c.pad_channels = 1;
    torch::manual_seed(3);
    s.net = Net(s.graph);
    s.opt = detail::make_optimizer(c.train, s.net);
    s.groups = find_channel_groups(s.graph, c.min_width, c.round_to);
    for (const auto& grp : s.groups.groups) s.salience.push_back(std::vector<float>(size_t(grp.channels), 1.0f));
    s.opt->zero_grad();
    s.net->forward(torch::randn({4, 1, 12, 12})).pow(2).sum().backward();
    s.opt->step();
    const int grp = s.groups.layout[size_t(s.graph.find("c1"))].segments[0].group;
    std::vector<int> targets;
    for (const auto& g : s.groups.groups) targets.push_back(g.channels);
    targets[size_t(grp)] = 5;
    s.salience[size_t(grp)] = std::vector<float>(16, 0.0f);
    for (int k : {1, 4, 5, 9, 12}) s.salience[size_t(grp)][size_t(k)] = 1.0f;  // the channels kept
    // The state before, by IR name, for c1's weights (output channels first).
    torch::Tensor before;
    for (const auto& item : s.net->named_parameters())
      if (ir_param_name(s.graph, item.key()) == "c1.weight")
        for (const auto& [key, st] : s.opt->state()) {
          (void)key;
          if (auto* a = dynamic_cast<torch::optim::AdamParamState*>(st.get()); a && a->exp_avg().sizes() == item.value().sizes())
            before = a->exp_avg().clone();
          if (auto* m = dynamic_cast<torch::optim::SGDParamState*>(st.get()); m && m->momentum_buffer().sizes() == item.value().sizes())
            before = m->momentum_buffer().clone();
        }
    ASSERT_TRUE(before.defined()) << optimizer;
    ASSERT_TRUE(prune_detail::remove_channels(s, targets, c));
    EXPECT_EQ(s.opt->state().size(), s.net->parameters().size()) << optimizer << ": every parameter keeps its state";
    bool checked = false;
    for (const auto& item : s.net->named_parameters()) {
      if (ir_param_name(s.graph, item.key()) != "c1.weight") continue;
      const torch::Tensor want = before.index_select(0, torch::tensor(std::vector<int64_t>{1, 4, 5, 9, 12}));
      for (const auto& [key, st] : s.opt->state()) {
        (void)key;
        torch::Tensor got;
        if (auto* a = dynamic_cast<torch::optim::AdamParamState*>(st.get())) got = a->exp_avg();
        if (auto* m = dynamic_cast<torch::optim::SGDParamState*>(st.get())) got = m->momentum_buffer();
        if (got.defined() && got.sizes() == want.sizes()) {
          EXPECT_LT((got - want).abs().max().item<double>(), 1e-7) << optimizer;
          checked = true;
        }
      }
    }
    EXPECT_TRUE(checked) << optimizer << ": c1's state after the cut";
  }
}

TEST(SoftWidth, GradientMatchesFiniteDifferences) {
  // c(alpha) = sum_r sigmoid((alpha * C - r - 0.5) / tau) over ranks r = 0..C-1.
  const int C = 10;
  const double tau = 1.0;
  torch::Tensor ranks = torch::arange(C, torch::kDouble);
  auto width = [&](const torch::Tensor& alpha) { return torch::sigmoid((alpha * C - ranks - 0.5) / tau).sum(); };
  for (double a : {0.15, 0.5, 0.73, 1.0}) {
    torch::Tensor alpha = torch::tensor(a, torch::kDouble).requires_grad_(true);
    torch::Tensor c = width(alpha);
    double grad = torch::autograd::grad({c}, {alpha})[0].item<double>();
    const double h = 1e-6;
    double fd = (width(torch::tensor(a + h, torch::kDouble)).item<double>() -
                 width(torch::tensor(a - h, torch::kDouble)).item<double>()) / (2 * h);
    EXPECT_NEAR(grad, fd, 1e-6 * std::max(1.0, std::fabs(fd))) << "alpha " << a;
    // At alpha = 1 nearly every channel is kept: c ~ C - 0.5 (the last one half in).
    if (a == 1.0) {
      EXPECT_NEAR(c.item<double>(), C - 0.5, 0.5);
    }
  }
}

TEST(Prune, TinySyntheticRunMeetsEveryBudget) {
  DatasetSplits data = synthetic(24, 1);
  Graph g = model();
  ResourceUse before = exact(g);
  PruneConfig c = config(5);
  c.budgets[Resource::Ram] = double(before.ram_bytes * 6 / 10);
  c.budgets[Resource::Flash] = double(before.flash_bytes * 8 / 10);
  c.budgets[Resource::Macs] = double(before.macs / 2);
  TempDir dir;
  PruneResult r = prune_model(g, nullptr, data, c, dir.path.string(), false, quiet());
  EXPECT_TRUE(r.budgets_met);
  EXPECT_TRUE(r.fallbacks.empty());  // met by the method itself, not by the rescue
  ResourceUse after = exact(r.graph);
  EXPECT_LE(after.ram_bytes, *c.budgets[Resource::Ram]);
  EXPECT_LE(after.flash_bytes, *c.budgets[Resource::Flash]);
  EXPECT_LE(after.macs, *c.budgets[Resource::Macs]);
  ASSERT_EQ(r.history.size(), 5u);
  EXPECT_TRUE(r.history.back().pruning_done);
  EXPECT_LT(r.history.back().channels, r.history.front().channels);
  // The pruned model still learned the task.
  EXPECT_GT(evaluate_model(r.graph, r.weights, data.test, 64, 1).accuracy, 0.6);
}

TEST(Prune, EveryImportanceMeetsTheBudget) {
  DatasetSplits data = synthetic(12, 2);
  Graph g = model();
  ResourceUse before = exact(g);
  for (const char* imp : {"l1", "l2", "bn", "random"}) {
    PruneConfig c = config(3);
    c.importance = imp;
    c.budgets[Resource::Macs] = double(before.macs / 3);
    TempDir dir;
    PruneResult r = prune_model(g, nullptr, data, c, dir.path.string(), false, quiet());
    EXPECT_TRUE(r.budgets_met) << imp;
    EXPECT_TRUE(r.fallbacks.empty()) << imp;
    EXPECT_LE(exact(r.graph).macs, *c.budgets[Resource::Macs]) << imp;
  }
}

TEST(Prune, MinimizeWithoutBudgetPrunesThroughThePruningPhase) {
  // No budget: there is nothing to meet, so pruning must not stop at the first removal;
  // it runs until the fine-tuning epochs (here epochs 2 and 3 prune, epoch 4 fine-tunes).
  DatasetSplits data = synthetic(12, 4);
  Graph g = model();
  PruneConfig c = config(4);
  c.minimize = {"macs"};
  TempDir dir;
  PruneResult r = prune_model(g, nullptr, data, c, dir.path.string(), false, quiet());
  ASSERT_EQ(r.history.size(), 4u);
  EXPECT_FALSE(r.history[1].pruning_done);
  EXPECT_TRUE(r.history[2].pruning_done);
  EXPECT_LT(r.history.back().resources.macs, exact(g).macs);
  EXPECT_TRUE(r.budgets_met);  // vacuously: there are none
}

TEST(Prune, ImpossibleBudgetNamesResourceBottleneckAndMinimum) {
  PruneConfig c = config(3);
  c.budgets[Resource::Ram] = 100.0;  // the 12x12 input alone is 144 bytes
  std::string msg = user_error_of([&] { check_prune_feasible(model(), c); });
  EXPECT_TRUE(Contains(msg, "ram budget of 100 B cannot be met"));
  EXPECT_TRUE(Contains(msg, "bottleneck operator"));
  EXPECT_TRUE(Contains(msg, "needs"));
  PruneConfig none = config(3);
  EXPECT_TRUE(Contains(user_error_of([&] { check_prune_feasible(model(), none); }), "nothing to prune for"));
  PruneConfig bad = config(3);
  bad.budgets[Resource::Macs] = 1000.0;
  bad.importance = "magic";
  EXPECT_TRUE(Contains(user_error_of([&] { check_prune_feasible(model(), bad); }), "--importance"));
}

// The exact model with every prunable group cut to w channels (a narrower group kept whole),
// computed here from the widths, not by the rule under test.
ResourceUse use_with_every_group_at(const Graph& g, const prune_detail::Target& t, int w) {
  std::vector<int> widths;
  for (const ChannelGroup& grp : find_channel_groups(g).groups)
    widths.push_back(grp.prunable ? std::min(w, grp.channels) : grp.channels);
  return prune_detail::exact_of(prune_detail::with_widths(g, widths, 1, 1), t);
}

TEST(Prune, AutomaticMinimumWidthIsTwoWhereTheBudgetsAllowIt) {
  const Graph g = model();
  PruneConfig c = config(3);
  c.min_width = 0;  // automatic, the command line's default
  const prune_detail::Target t = prune_detail::resolve_target(c);
  const ChannelGroups cg = find_channel_groups(g);
  auto flash_at = [&](int w) { return use_with_every_group_at(g, t, w).flash_bytes; };
  const int64_t at1 = flash_at(1), at2 = flash_at(2), at4 = flash_at(4);
  ASSERT_LT(at1, at2);
  ASSERT_LT(2 * at4, exact(g).flash_bytes);  // a budget the floor of 4 takes half of is a cut
  c.budgets[Resource::Flash] = double(at2);  // reachable with 2 channels per group
  PruneConfig two = c;
  resolve_min_width(g, two);
  EXPECT_EQ(two.min_width, 2);
  EXPECT_EQ(two.min_width_choice, "automatic: 2 channels");
  c.budgets[Resource::Flash] = double(at2 - 1);  // reachable with 1 only: said why
  PruneConfig one = c;
  resolve_min_width(g, one);
  EXPECT_EQ(one.min_width, 1);
  EXPECT_TRUE(Contains(one.min_width_choice, "automatic: 1 channel, since at 2 the flash budget")) << one.min_width_choice;
  EXPECT_NO_THROW(check_prune_feasible(g, c));
  c.budgets[Resource::Flash] = double(at1 - 1);  // out of reach: no advice to lower a width of 1
  const std::string msg = user_error_of([&] { check_prune_feasible(g, c); });
  EXPECT_TRUE(Contains(msg, "flash budget")) << msg;
  EXPECT_FALSE(Contains(msg, "--min-width")) << msg;
  PruneConfig given = config(3);
  given.min_width = 3;
  resolve_min_width(g, given);
  EXPECT_EQ(given.min_width, 3);
  EXPECT_TRUE(given.min_width_choice.empty());
  // A run resolves it before the method starts and keeps the choice in its configuration.
  DatasetSplits data = synthetic(12, 3);
  PruneConfig run = config(3);
  run.min_width = 0;
  run.budgets[Resource::Flash] = double(2 * at4 - 1);  // the floor of 4 would take over half of it
  ASSERT_GT(run.budgets[Resource::Flash].value(), double(at2));
  TempDir dir;
  PruneResult r = prune_model(g, nullptr, data, run, dir.path.string(), false, quiet());
  EXPECT_TRUE(r.budgets_met);
  EXPECT_EQ(r.min_width, 2);
  EXPECT_EQ(r.min_width_choice, "automatic: 2 channels");
  for (const ChannelGroup& grp : find_channel_groups(r.graph).groups)
    if (grp.prunable) {
      EXPECT_GE(grp.channels, std::min(2, cg.groups[size_t(grp.id)].channels)) << "group " << grp.id;
    }
  const PruneConfig saved = read_prune_config(dir.path.string());
  EXPECT_EQ(saved.min_width, 2);
  EXPECT_EQ(saved.min_width_choice, "automatic: 2 channels");
}

TEST(Prune, AutomaticFloorOfTwoKeepsTheDesignedBottlenecksAtFourWhereThatIsCheap) {
  ZooOptions zo;
  zo.input = {16, 16, 1};
  zo.classes = 4;
  const Graph g = zoo_build("mobilenetv2", zo);
  PruneConfig c = config(3);
  c.min_width = 0;
  const prune_detail::Target t = prune_detail::resolve_target(c);
  auto flash_with = [&](const PruneConfig& fc) {
    std::vector<int> mins;
    for (const ChannelGroup& grp : prune_detail::groups_of(g, fc).groups)
      mins.push_back(grp.prunable ? grp.min_channels : grp.channels);
    return prune_detail::exact_of(prune_detail::with_widths(g, mins, 1, 1), t).flash_bytes;
  };
  PruneConfig two = c, raised = c;
  two.min_width = raised.min_width = 2;
  const std::vector<int> bottlenecks = designed_bottlenecks(g, find_channel_groups(g, 2, 1));
  ASSERT_EQ(bottlenecks.size(), 7u);
  raised.bottleneck_groups = bottlenecks;
  raised.bottleneck_width = 4;
  for (const ChannelGroup& grp : prune_detail::groups_of(g, raised).groups)
    if (grp.prunable) {
      const bool b = std::find(bottlenecks.begin(), bottlenecks.end(), grp.id) != bottlenecks.end();
      EXPECT_EQ(grp.min_channels, std::min(b ? 4 : 2, grp.channels)) << "group " << grp.id;
    }
  const int64_t at2 = flash_with(two), up = flash_with(raised);
  ASSERT_LT(at2, up);
  // The raise may take at most half of the room the floor of 2 leaves.
  const double cheap = double(at2 + 2 * (up - at2) + 1), dear = double(at2 + 2 * (up - at2) - 1);
  ASSERT_GT(2 * use_with_every_group_at(g, t, 4).flash_bytes, cheap);  // so the floor is 2, not 4
  PruneConfig yes = c;
  yes.budgets[Resource::Flash] = cheap;
  resolve_min_width(g, yes);
  EXPECT_EQ(yes.min_width, 2);
  EXPECT_EQ(yes.bottleneck_groups, bottlenecks);
  EXPECT_EQ(yes.bottleneck_width, 4);
  EXPECT_TRUE(Contains(yes.min_width_choice, "automatic: 2 channels, 4 in the 7 designed bottleneck group(s)"))
      << yes.min_width_choice;
  PruneConfig no = c;
  no.budgets[Resource::Flash] = dear;
  resolve_min_width(g, no);
  EXPECT_EQ(no.min_width, 2);
  EXPECT_TRUE(no.bottleneck_groups.empty());
  EXPECT_EQ(no.bottleneck_width, 0);
  EXPECT_EQ(no.min_width_choice, "automatic: 2 channels");
  // A given --min-width applies as it is, with no raise even where it would be cheap.
  PruneConfig given = c;
  given.budgets[Resource::Flash] = cheap;
  given.min_width = 2;
  resolve_min_width(g, given);
  EXPECT_TRUE(given.bottleneck_groups.empty());
  EXPECT_TRUE(given.min_width_choice.empty());
  // Each budget counts on its own: a MAC budget that the raise would take over half the room
  // of keeps the floor at 2 everywhere, however cheap it is in flash.
  auto macs_with = [&](const PruneConfig& fc) {
    std::vector<int> mins;
    for (const ChannelGroup& grp : prune_detail::groups_of(g, fc).groups)
      mins.push_back(grp.prunable ? grp.min_channels : grp.channels);
    return prune_detail::exact_of(prune_detail::with_widths(g, mins, 1, 1), t).macs;
  };
  const int64_t macs2 = macs_with(two), macs_up = macs_with(raised);
  ASSERT_LT(macs2, macs_up);
  PruneConfig tight_macs = yes;
  tight_macs.min_width = 0;
  tight_macs.budgets[Resource::Macs] = double(macs2 + 2 * (macs_up - macs2) - 1);
  ASSERT_GT(2 * use_with_every_group_at(g, t, 4).macs, *tight_macs.budgets[Resource::Macs]);
  resolve_min_width(g, tight_macs);
  EXPECT_EQ(tight_macs.min_width, 2);
  EXPECT_TRUE(tight_macs.bottleneck_groups.empty()) << tight_macs.min_width_choice;
  tight_macs.min_width = 0;
  tight_macs.budgets[Resource::Macs] = double(macs2 + 2 * (macs_up - macs2) + 1);
  resolve_min_width(g, tight_macs);
  EXPECT_EQ(tight_macs.bottleneck_groups, bottlenecks);
  // With --round-to 4 every group keeps 4 already: nothing to raise. With --round-to 3 the
  // floor of 2 is 3 and the raise goes to 6.
  PruneConfig by4 = yes;
  by4.min_width = 0;
  by4.round_to = 4;
  by4.budgets[Resource::Flash] = 1.5 * double(use_with_every_group_at(g, t, 4).flash_bytes);  // no floor of 4
  resolve_min_width(g, by4);
  EXPECT_EQ(by4.min_width, 2);
  EXPECT_TRUE(by4.bottleneck_groups.empty()) << by4.min_width_choice;
  EXPECT_EQ(by4.min_width_choice, "automatic: 2 channels");
  PruneConfig by3 = c, two3 = c, raised3 = c;
  by3.round_to = two3.round_to = raised3.round_to = 3;
  two3.min_width = raised3.min_width = 2;
  raised3.bottleneck_groups = bottlenecks;
  raised3.bottleneck_width = 6;
  const int64_t at2_3 = flash_with(two3), up3 = flash_with(raised3);
  by3.budgets[Resource::Flash] = double(at2_3 + 2 * (up3 - at2_3) + 1);
  resolve_min_width(g, by3);
  EXPECT_EQ(by3.min_width, 2);
  EXPECT_EQ(by3.bottleneck_width, 6);
  EXPECT_TRUE(Contains(by3.min_width_choice, ", 6 in the ")) << by3.min_width_choice;
  // Without a budget (only --minimize) there is nothing to price the raise against.
  PruneConfig minimize = c;
  minimize.minimize = {"flash"};
  resolve_min_width(g, minimize);
  EXPECT_EQ(minimize.min_width, 2);
  EXPECT_TRUE(minimize.bottleneck_groups.empty());
  // A configuration saved before the floor existed reads as none; a negative one is refused.
  nlohmann::json saved_json = prune_config_to_json(yes);
  EXPECT_EQ(prune_config_from_json(saved_json, "x").bottleneck_groups, bottlenecks);
  saved_json.erase("bottleneck_groups");
  saved_json.erase("bottleneck_width");
  const PruneConfig old = prune_config_from_json(saved_json, "x");
  EXPECT_TRUE(old.bottleneck_groups.empty());
  EXPECT_EQ(old.bottleneck_width, 0);
  PruneConfig negative = yes;
  negative.bottleneck_width = -1;
  EXPECT_TRUE(Contains(user_error_of([&] { prune_detail::validate(negative); }), "bottleneck_width")) ;
  PruneConfig again = no;
  again.min_width = 0;
  again.bottleneck_groups = bottlenecks;
  again.bottleneck_width = 4;
  resolve_min_width(g, again);
  EXPECT_TRUE(again.bottleneck_groups.empty());
  // A run keeps the floor through every surgery and in its saved configuration.
  TempDir dir;
  PruneConfig run = c;
  run.budgets[Resource::Flash] = cheap;
  PruneResult r = prune_model(g, nullptr, test::quadrant_task(16, 6, 5), run, dir.path.string(), false, quiet());
  EXPECT_TRUE(r.budgets_met);
  const ChannelGroups after = find_channel_groups(r.graph);
  int held = 0;  // bottlenecks the floor stopped at 4
  for (int id : bottlenecks) {
    EXPECT_GE(after.groups[size_t(id)].channels, 4) << "group " << id;
    held += after.groups[size_t(id)].channels == 4;
  }
  EXPECT_GT(held, 0) << "the floor never bound: the test no longer shows it";
  EXPECT_EQ(r.bottleneck_groups, bottlenecks);  // for the report's configuration
  EXPECT_EQ(r.bottleneck_width, 4);
  const PruneConfig saved = read_prune_config(dir.path.string());
  EXPECT_EQ(saved.bottleneck_groups, bottlenecks);
  EXPECT_EQ(saved.bottleneck_width, 4);
  // An id the model does not have (a hand-edited configuration) is a clear error.
  PruneConfig broken = raised;
  broken.bottleneck_groups = {999};
  EXPECT_TRUE(Contains(user_error_of([&] { prune_detail::groups_of(g, broken); }), "bottleneck group 999"));
}

TEST(Prune, AutomaticMinimumWidthIsFourWhereThatFloorTakesAtMostHalfOfEveryBudget) {
  const Graph g = model();
  PruneConfig c = config(3);
  c.min_width = 0;
  const prune_detail::Target t = prune_detail::resolve_target(c);
  const ChannelGroups cg = find_channel_groups(g);
  const ResourceUse at4 = use_with_every_group_at(g, t, 4), full = exact(g);
  ASSERT_LT(2 * at4.flash_bytes, full.flash_bytes);
  c.budgets[Resource::Flash] = double(2 * at4.flash_bytes);  // the floor takes exactly half
  PruneConfig four = c;
  resolve_min_width(g, four);
  EXPECT_EQ(four.min_width, 4);
  EXPECT_EQ(four.min_width_choice, "automatic: 4 channels, since at 4 the model needs at most 50% of each budget");
  PruneConfig over = c;
  over.budgets[Resource::Flash] = double(2 * at4.flash_bytes - 1);
  resolve_min_width(g, over);
  EXPECT_EQ(over.min_width, 2);
  EXPECT_EQ(over.min_width_choice, "automatic: 2 channels");
  // Every budget counts: a second one that the floor would take over half of keeps it at 2.
  PruneConfig both = c;
  both.budgets[Resource::Macs] = double(2 * at4.macs - 1);
  ASSERT_LT(both.budgets[Resource::Macs].value(), double(full.macs));
  resolve_min_width(g, both);
  EXPECT_EQ(both.min_width, 2);
  PruneConfig both_half = c;
  both_half.budgets[Resource::Macs] = double(2 * at4.macs);
  resolve_min_width(g, both_half);
  EXPECT_EQ(both_half.min_width, 4);
  // Without a budget (only --minimize) there is nothing to price the floor against: 2.
  PruneConfig none = config(3);
  none.min_width = 0;
  none.minimize = {"flash"};
  resolve_min_width(g, none);
  EXPECT_EQ(none.min_width, 2);
  // A run with the floor of 4 keeps every group at 4 or more (or at its own width).
  DatasetSplits data = synthetic(12, 3);
  PruneConfig run = config(3);
  run.min_width = 0;
  run.budgets[Resource::Flash] = double(2 * at4.flash_bytes);
  TempDir dir;
  PruneResult r = prune_model(g, nullptr, data, run, dir.path.string(), false, quiet());
  EXPECT_TRUE(r.budgets_met);
  EXPECT_EQ(r.min_width, 4);
  for (const ChannelGroup& grp : find_channel_groups(r.graph).groups)
    if (grp.prunable) {
      EXPECT_GE(grp.channels, std::min(4, cg.groups[size_t(grp.id)].channels)) << "group " << grp.id;
    }
  const PruneConfig saved = read_prune_config(dir.path.string());  // a resume keeps the choice
  EXPECT_EQ(saved.min_width, 4);
  EXPECT_EQ(saved.min_width_choice, four.min_width_choice);
  // A share that is not a whole percentage is rounded up: "at most" stays true.
  PruneConfig odd = c;
  odd.budgets[Resource::Flash] = double(2 * at4.flash_bytes) + 7.0;
  resolve_min_width(g, odd);
  EXPECT_EQ(odd.min_width, 4);
  EXPECT_TRUE(Contains(odd.min_width_choice, "at most 50% of each budget")) << odd.min_width_choice;
}

TEST(Prune, AModelWithoutPrunableGroupsIsAClearErrorWithTheAutomaticWidth) {
  // The automatic width is resolved before anything else; a model with nothing to prune still
  // gets the error that says so.
  GraphBuilder b("flat", {12, 12, 1});
  b.dense(b.flatten(b.input(), "flat"), 4, "logits");
  const Graph g = b.finish();
  PruneConfig c = config(3);
  c.min_width = 0;
  c.budgets[Resource::Macs] = 10.0;
  DatasetSplits data = synthetic(12, 3);
  TempDir dir;
  EXPECT_TRUE(Contains(user_error_of([&] { prune_model(g, nullptr, data, c, dir.path.string(), false, quiet()); }),
                       "has no prunable channel group"));
}

TEST(Prune, ResumeContinuesWhereTheRunStopped) {
  DatasetSplits data = synthetic(12, 3);
  Graph g = model();
  PruneConfig c = config(4);
  c.budgets[Resource::Macs] = double(exact(g).macs / 2);
  TempDir dir;
  g_stop_requested = true;  // as if Ctrl-C came in the first epoch
  PruneResult r1 = prune_model(g, nullptr, data, c, dir.path.string(), false, quiet());
  g_stop_requested = false;
  EXPECT_TRUE(r1.interrupted);
  // Run 2 epochs, then resume to 4: the resumed call trains epochs 3 and 4 only.
  PruneConfig c2 = c;
  c2.train.epochs = 2;
  c2.finetune_epochs = 0;
  TempDir dir2;
  prune_model(g, nullptr, data, c2, dir2.path.string(), false, quiet());
  std::string log = (dir2.path / "log.jsonl").string();
  OutputOptions o = quiet();
  o.log_json = log;
  PruneConfig c4 = read_prune_config(dir2.path.string());
  c4.train.epochs = 4;
  PruneResult r = prune_model(g, nullptr, data, c4, dir2.path.string(), true, o);
  ASSERT_EQ(r.history.size(), 4u);
  EXPECT_EQ(r.history[2].epoch, 3);
  std::ifstream f(log);
  int lines = 0;
  for (std::string line; std::getline(f, line);) ++lines;
  EXPECT_EQ(lines, 2);
  EXPECT_TRUE(r.budgets_met);
  // And the interrupted run resumes from its checkpoint too.
  PruneResult r1b = prune_model(g, nullptr, data, c, dir.path.string(), true, quiet());
  EXPECT_EQ(r1b.epochs_completed, 4);
  EXPECT_TRUE(r1b.budgets_met);
}

TEST(Prune, CheckpointOfAnotherFormatVersionIsAClearError) {
  DatasetSplits data = synthetic(8, 5);
  Graph g = model();
  PruneConfig c = config(2);
  c.finetune_epochs = 0;
  c.budgets[Resource::Macs] = double(exact(g).macs / 2);
  TempDir dir;
  prune_model(g, nullptr, data, c, dir.path.string(), false, quiet());
  const fs::path state = dir.path / "checkpoint" / "prune_state.json";
  std::ifstream in(state);
  nlohmann::json j = nlohmann::json::parse(in);
  in.close();
  j["version"] = 1;
  std::ofstream(state) << j.dump();
  PruneConfig c3 = c;
  c3.train.epochs = 3;
  std::string msg = user_error_of([&] { prune_model(g, nullptr, data, c3, dir.path.string(), true, quiet()); });
  EXPECT_TRUE(Contains(msg, "another version of mcuprune (format version 1")) << msg;
  EXPECT_TRUE(Contains(msg, "start a new run")) << msg;
}

TEST(PruneConfig, WidthStepAndTaskWeightRoundTripAndDefaultForOlderRuns) {
  PruneConfig c = config(2);
  EXPECT_EQ(c.task_weight, 0.5);  // the defaults
  EXPECT_EQ(c.width_step, "linear");
  c.task_weight = 0.75;
  c.width_step = "even";
  nlohmann::json j = prune_config_to_json(c);
  PruneConfig back = prune_config_from_json(j, "test");
  EXPECT_EQ(back.task_weight, 0.75);
  EXPECT_EQ(back.width_step, "even");
  // A run saved before the options existed used rho 0.5 and the linear step.
  j.erase("task_weight");
  j.erase("width_step");
  PruneConfig old = prune_config_from_json(j, "test");
  EXPECT_EQ(old.task_weight, 0.5);
  EXPECT_EQ(old.width_step, "linear");
  j["task_weight"] = "heavy";
  EXPECT_TRUE(Contains(user_error_of([&] { prune_config_from_json(j, "test"); }), "\"task_weight\" must be a number"));
}

TEST(Prune, FillBudgetsKeepsBackTheChannelsTheLastCutWouldRemoveWhileEveryBudgetHolds) {
  DatasetSplits data = synthetic(24, 1);
  Graph g = model();
  const ResourceUse before = exact(g);
  auto run = [&](bool fill, bool minimize) {
    PruneConfig c = config(4);
    c.fill_budgets = fill;
    c.budgets[Resource::Flash] = double(before.flash_bytes * 60 / 100);
    if (minimize) c.minimize = {"macs"};
    TempDir dir;
    PruneResult r = prune_model(g, nullptr, data, c, dir.path.string(), false, quiet());
    EXPECT_TRUE(r.budgets_met);
    EXPECT_TRUE(r.fallbacks.empty());
    EXPECT_LE(exact(r.graph).flash_bytes, *c.budgets[Resource::Flash]);
    return r;
  };
  const PruneResult floor_cut = run(false, false), filled = run(true, false);
  // The same run up to its last cut, which keeps back channels: more of the budget is used
  // (19 channels and 82% of it without, 25 and 99% with, when this was written).
  EXPECT_GT(filled.history.back().channels, floor_cut.history.back().channels);
  EXPECT_GT(exact(filled.graph).flash_bytes, exact(floor_cut.graph).flash_bytes);
  // With --minimize the smallest model is asked for: nothing is kept back.
  EXPECT_EQ(run(true, true).history.back().channels, run(false, true).history.back().channels);
}

TEST(PruneConfig, FillBudgetsIsOnByDefaultAndOffForOlderRuns) {
  PruneConfig c = config(2);
  EXPECT_TRUE(c.fill_budgets);
  c.fill_budgets = false;
  nlohmann::json j = prune_config_to_json(c);
  EXPECT_FALSE(prune_config_from_json(j, "test").fill_budgets);
  j["fill_budgets"] = true;
  EXPECT_TRUE(prune_config_from_json(j, "test").fill_budgets);
  j.erase("fill_budgets");  // a run saved before the option cut every group to its floor
  EXPECT_FALSE(prune_config_from_json(j, "test").fill_budgets);
}

TEST(PruneConfig, WidthRampRoundTripsAndIsOffForOlderRuns) {
  PruneConfig c = config(2);
  EXPECT_EQ(c.width_ramp, 0.0);  // the default: full rate from the first step
  c.width_ramp = 0.25;
  nlohmann::json j = prune_config_to_json(c);
  EXPECT_EQ(prune_config_from_json(j, "test").width_ramp, 0.25);
  j.erase("width_ramp");  // a run saved before the option had no ramp
  EXPECT_EQ(prune_config_from_json(j, "test").width_ramp, 0.0);
}

TEST(PruneConfig, WarmUpDefaultsToNoneForDiffAndToOneEpochForBaselinesAndDistillation) {
  auto warmup = [](const std::string& method, int epochs, double distill) {
    PruneConfig c = config(epochs);
    c.method = method;
    c.distill = distill;
    c.warmup_epochs = -1;  // not given
    c.finetune_epochs = -1;
    validate_prune_config(c);
    return c.warmup_epochs;
  };
  EXPECT_EQ(warmup("diff", 3, 0), 0);
  EXPECT_EQ(warmup("unaware", 3, 0), 0);
  EXPECT_EQ(warmup("diff", 3, 0.5), 1);  // the teacher is the network at the end of the warm-up
  for (const char* m : {"uniform", "magnitude", "dpf"}) {
    EXPECT_EQ(warmup(m, 3, 0), 1) << m;
    EXPECT_EQ(warmup(m, 1, 0), 0) << m;  // a 1-epoch run leaves no room for one
  }
  // Given explicitly, the warm-up is kept.
  PruneConfig c = config(3);
  c.warmup_epochs = 2;
  c.finetune_epochs = 0;
  validate_prune_config(c);
  EXPECT_EQ(c.warmup_epochs, 2);
}

TEST(Distillation, LossIsCrossEntropyWhenTheTeacherAgreesAndPullsTowardTheTeacher) {
  torch::manual_seed(5);
  torch::Tensor logits = torch::randn({6, 4}, torch::requires_grad());
  torch::Tensor y = torch::tensor({0, 1, 2, 3, 0, 1}, torch::kInt64);
  const double ce = torch::nn::functional::cross_entropy(logits, y).item<double>();
  // A teacher that agrees with the student adds nothing: (1 - alpha) * CE.
  EXPECT_NEAR(prune_detail::distillation_loss(logits, y, logits.detach(), 0.5, 4).item<double>(), 0.5 * ce, 1e-6);
  EXPECT_NEAR(prune_detail::distillation_loss(logits, y, torch::randn({6, 4}), 0, 4).item<double>(), ce, 1e-6);
  // With alpha 1 only the teacher counts: the gradient moves the student's soft outputs toward it.
  torch::Tensor teacher = torch::randn({6, 4}) * 3;
  torch::Tensor loss = prune_detail::distillation_loss(logits, y, teacher, 1, 2);
  EXPECT_GT(loss.item<double>(), 0);
  loss.backward();
  torch::Tensor moved = (logits - 0.5 * logits.grad()).detach();
  auto kl = [&](const torch::Tensor& s) {
    torch::Tensor lt = torch::log_softmax(teacher / 2, 1), ls = torch::log_softmax(s / 2, 1);
    return (lt.exp() * (lt - ls)).sum(1).mean().item<double>();
  };
  EXPECT_LT(kl(moved), kl(logits.detach()));
}

TEST(Prune, DistillationAndRewarmingCheckpointTheirStateAndResume) {
  DatasetSplits data = synthetic(12, 3);
  Graph g = model();
  PruneConfig c = config(4);
  c.finetune_epochs = 2;
  c.budgets[Resource::Macs] = double(exact(g).macs / 2);
  EXPECT_TRUE(c.lr_rewarm);  // the default
  EXPECT_FALSE(c.fold_masks);  // the default
  c.fold_masks = true;
  PruneConfig plain = c;
  plain.lr_rewarm = false;
  c.distill = 0.5;
  // Without re-warming the rate follows one cosine: at the end of epoch 3 it is lower than
  // the re-warmed one (pruning ends in epoch 2, and the fresh cosine starts from the rate of
  // the pruning phase's start).
  TempDir plain_dir;
  PruneResult p = prune_model(g, nullptr, data, plain, plain_dir.path.string(), false, quiet());
  // Two epochs, then resume to four: the teacher and the re-warm step come from the checkpoint.
  PruneConfig c2 = c;
  c2.train.epochs = 2;
  c2.finetune_epochs = 0;
  TempDir dir;
  PruneResult first = prune_model(g, nullptr, data, c2, dir.path.string(), false, quiet());
  ASSERT_TRUE(first.budgets_met);
  std::ifstream state_file(dir.path / "checkpoint" / "prune_state.json");
  const nlohmann::json state = nlohmann::json::parse(state_file);
  ASSERT_TRUE(state.at("teacher").is_object());
  EXPECT_TRUE(fs::exists(dir.path / "checkpoint" / state["teacher"]["weights"].get<std::string>()));
  EXPECT_TRUE(fs::exists(dir.path / "checkpoint" / "teacher.json"));
  EXPECT_GT(state.at("rewarm_from").get<int64_t>(), 0);
  EXPECT_GT(first.history[1].time_s.at("distill"), 0.0);  // the teacher's logits, once
  PruneConfig c4 = read_prune_config(dir.path.string());
  EXPECT_EQ(c4.distill, 0.5);
  EXPECT_TRUE(c4.lr_rewarm);
  EXPECT_TRUE(c4.fold_masks);  // written to the run's configuration and read back
  c4.train.epochs = 4;
  c4.finetune_epochs = 2;
  PruneResult r = prune_model(g, nullptr, data, c4, dir.path.string(), true, quiet());
  ASSERT_EQ(r.history.size(), 4u);
  EXPECT_TRUE(r.budgets_met);
  EXPECT_EQ(r.history[2].time_s.count("distill"), 1u);  // the cache is rebuilt from the saved teacher
  for (int e = 0; e < 2; ++e) {  // the epochs before the resume, read back from the checkpoint
    EXPECT_FALSE(first.history[size_t(e)].layout.empty());
    EXPECT_EQ(r.history[size_t(e)].layout, first.history[size_t(e)].layout);
  }
  ASSERT_EQ(p.history.size(), 4u);
  EXPECT_GT(r.history[2].lr, p.history[2].lr * 1.2);
  EXPECT_LT(r.history[3].lr, r.history[2].lr);
}

}  // namespace
}  // namespace mcuprune
