// `diff` (the differentiable MCU-aware method) and `unaware` (its ablation: the same widths
// and masks, with the parameter count as the only cost instead of the MCU resource models).
//
// Per prunable group g with C_g channels a width alpha_g in (0, 1]; the channel of salience
// rank r gets the soft mask m = sigmoid((alpha_g * C_g - r - 0.5) / tau), which gates it in
// the forward pass, so the task loss reaches alpha_g through the channels near the cut.
// The weights see the task loss only: the resource costs act on the widths alone, so the
// channel salience (Taylor, |m * dCE/dm|) is never coloured by them.
//
// Soft resources: the shared formulas (src/resources/formulas.h) at widths c_g = alpha_g *
// C_g, which equal the exact integer model whenever alpha_g * C_g is an integer (C_g itself
// right after a surgery); peak memory follows the current architecture's optimal order.
//
// Width step, every step of the pruning phase, for each budget r with soft use R_r > B_r:
//   d_r = dR_r/dalpha, normalised by its largest entry, so a group moves in proportion to
//   what it costs in r: pruning goes where the cost is (the bottleneck layers for RAM, the
//   big layers for flash), and a per-element optimizer's uniform pace is avoided;
//   D = sum_r mu_r * (R_r / B_r - 1) * d_r, with mu_r a dual multiplier that rises while r
//   is violated and falls while it has slack;
//   T = the task loss's gradient on alpha (through the masks), normalised the same way;
//   alpha -= lr * (D / max|D| + rho * T / max|T|) * n_g / (n_g + 4), n_g = alpha_g * C_g,
//   rho = --task-weight (0.5).
// With --width-step relative, d_r and T are taken on log(alpha) (alpha times the above: each
// group's share of the cost) and log(alpha) takes the step, so a group that has already given
// up most of its cost stops taking the cuts. With --width-step even, every group with a cost
// in a violated resource gets the same resource term on log(alpha) (with one violated budget,
// a uniform multiplier over those groups), and the task term (on log(alpha)) moves them apart.
// With --width-step channel, d_r and T are divided by C_g before the normalisation (d/dc_g:
// what one more channel of the group costs) and alpha takes the step, so with equal prices per
// channel every group shrinks by the same fraction before the task term moves them apart.
// The last factor slows a group as it nears a handful of channels, so no layer collapses to
// one channel because the penalty is cheapest there. With no budget violated D is zero and
// the task term alone moves the widths (they may grow back up to the current width). lr
// defaults to 6 / (steps of the pruning phase): the costliest group can shrink about 400x.
// --width-ramp F scales lr by min(1, (t + 1) / max(1, F * phase steps)) at step t (from 0) of the phase.
// Every prune_every steps (at least 8 times per pruning phase), and at the phase's end,
// channels ranked at or beyond floor(alpha_g * C_g) are removed, so the exact model never
// costs more than the soft one.
#include <cmath>
#include <random>
#include <sstream>

#include "graph/io.h"
#include "nn/dist_ops.h"
#include "nn/soft_resources.h"
#include "prune/internal.h"

namespace mcuprune::prune_detail {

namespace {

using nlohmann::json;

constexpr double kThinChannels = 4.0;   // width (channels) at which a group moves at half pace
constexpr double kDualStep = 0.05;      // multiplicative dual ascent step
constexpr double kSlackMargin = 0.002;  // aim just under the budget, so rounding cannot overshoot
constexpr int64_t kWarmupSalienceEvery = 4;  // warm-up steps per Taylor salience measurement
constexpr double kForgotten = 1e-3;  // weight below which older measurements no longer count

// The warm-up steps before the pruning phase whose salience measurements count: the moving
// average (decay d) gives every measurement older than the last n = ceil(log(1e-3) / log(d))
// a total weight under 1e-3 (n = 66 at 0.9), so measuring earlier only costs time.
int64_t warmup_salience_window(double decay) {
  const int64_t n = decay > 0 ? int64_t(std::ceil(std::log(kForgotten) / std::log(decay))) : 1;
  return kWarmupSalienceEvery * std::max<int64_t>(1, n);
}

// The largest entry's magnitude (0 for an all-zero vector).
double max_abs(const torch::Tensor& t) { return t.numel() ? t.abs().max().item<double>() : 0.0; }

class DiffMethod : public Method {
 public:
  DiffMethod(const PruneConfig& c, const Target& t, bool mcu_aware)
      : c_(c), t_(t), mcu_aware_(mcu_aware), log_step_(c.width_step == "relative" || c.width_step == "even"),
        even_(c.width_step == "even"), channel_(c.width_step == "channel"),
        warmup_window_(warmup_salience_window(c.salience_decay)) {}

  void start(State& s) override {
    alpha_ = torch::ones({int64_t(s.groups.groups.size())}, torch::kDouble);
    std::mt19937_64 rng(c_.train.seed * 31 + 7);
    for (const auto& grp : s.groups.groups)
      if (c_.importance == "random")
        for (float& v : s.salience[size_t(grp.id)]) v = float(rng() % 1000000) / 1e6f;
    for (double& m : mu_) m = 1.0;
    after_surgery(s);
  }

  void before_forward(State& s, const StepContext& ctx) override {
    active_ = ctx.in_pruning_phase();
    const bool taylor = c_.importance == "taylor";
    masks_.assign(s.groups.groups.size(), torch::Tensor());
    if (!active_ && !taylor) return s.net->clear_gates();
    // Before the pruning phase the gates only measure salience: every few steps is enough
    // (the running average then spans more steps), and only within the last steps whose
    // measurements still weigh in the average when pruning starts; the other steps train
    // at full speed.
    if (!active_) {
      const int64_t to_pruning =
          int64_t(ctx.prune_start_epoch - ctx.epoch) * ctx.steps_per_epoch - ctx.step;
      if (s.global_step % kWarmupSalienceEvery != 0 || to_pruning > warmup_window_)
        return s.net->clear_gates();
    }
    alpha_leaf_ = alpha_.to(torch::kFloat).requires_grad_(active_);
    for (const ChannelGroup& grp : s.groups.groups) {
      if (!grp.prunable) continue;
      torch::Tensor m;
      if (active_) {
        m = torch::sigmoid((alpha_leaf_[grp.id] * float(grp.channels) - ranks_[size_t(grp.id)] - 0.5f) /
                           float(c_.temperature));
        m.retain_grad();
      } else {
        m = torch::ones({grp.channels}).requires_grad_(true);
      }
      masks_[size_t(grp.id)] = m;
    }
    s.net->set_gates(s.groups, masks_);
  }

  void after_step(State& s, const StepContext& ctx) override {
    if (active_) step_widths(s, ctx);
    if (c_.importance == "taylor") {
      const float d = salience_seen_ ? float(c_.salience_decay) : 0.0f;
      bool updated = false;
      for (const ChannelGroup& grp : s.groups.groups) {
        const torch::Tensor& m = masks_[size_t(grp.id)];
        if (!grp.prunable || !m.defined() || !m.grad().defined()) continue;
        torch::Tensor v = (m.detach() * m.grad()).abs().contiguous();
        auto& sal = s.salience[size_t(grp.id)];
        const float* pv = v.data_ptr<float>();
        for (size_t k = 0; k < sal.size(); ++k) sal[k] = d * sal[k] + (1 - d) * pv[k];
        updated = true;
      }
      salience_seen_ = salience_seen_ || updated;
    }
  }

  bool maybe_prune(State& s, const StepContext& ctx) override {
    // At least 8 surgeries per pruning phase, however short the phase.
    const int64_t phase_steps = int64_t(ctx.prune_end_epoch - ctx.prune_start_epoch) * ctx.steps_per_epoch;
    const int64_t every = std::max<int64_t>(1, std::min<int64_t>(c_.prune_every, phase_steps / 8));
    if (s.global_step % every != 0) return false;
    if (c_.importance == "l1" || c_.importance == "l2" || c_.importance == "bn")
      s.salience = weight_salience(s, c_.importance);
    rebuild_ranks(s);
    if (!ctx.in_pruning_phase()) return false;
    return cut_to_widths(s);
  }

  // The last widths the step reached are cut too, before the loop checks the budgets.
  void end_pruning_phase(State& s) override { cut_to_widths(s); }

  // The kept channels near the cut were trained behind masks below 1 (the last kept one at
  // sigmoid(0.5..1.5) = 0.62..0.82 at temperature 1): their values go into the weights that
  // read them, so dropping the gates changes nothing on the kept channels (and the batch
  // norms' running statistics after those weights stay right).
  void pruning_ended(State& s) override {
    if (!c_.fold_masks || ranks_.empty()) return;
    std::vector<torch::Tensor> masks(s.groups.groups.size());
    for (const ChannelGroup& grp : s.groups.groups) {
      if (!grp.prunable || !ranks_[size_t(grp.id)].defined()) continue;
      const float width = float(alpha_[grp.id].item<double>() * grp.channels);
      masks[size_t(grp.id)] = torch::sigmoid((width - ranks_[size_t(grp.id)] - 0.5f) / float(c_.temperature));
    }
    s.net->set_gates(s.groups, masks);
    s.net->fold_gates();
    s.net->clear_gates();
  }

  void validation_gates(State& s) override {
    if (!active_ || masks_.empty()) return s.net->clear_gates();
    std::vector<torch::Tensor> detached;
    for (auto& m : masks_) detached.push_back(m.defined() ? m.detach() : m);
    s.net->set_gates(s.groups, detached);
  }

  // Data-parallel runs: the gates' and widths' gradients of the global batch (each worker's
  // loss is weighted by its share), so that salience and the task term equal one process's.
  std::vector<torch::Tensor> summed_gradients() const override {
    std::vector<torch::Tensor> with_grad;
    for (const torch::Tensor& m : masks_)
      if (m.defined() && m.grad().defined()) with_grad.push_back(m);  // the same on every worker
    if (active_ && alpha_leaf_.defined() && alpha_leaf_.grad().defined()) with_grad.push_back(alpha_leaf_);
    return with_grad;
  }

  void after_surgery(State& s) override {
    soft_model_ = build_soft(s.graph, s.groups, t_);
    if (channel_) {  // d/dc_g = (d/dalpha_g) / C_g: what one more channel of the group costs
      std::vector<double> inverse(s.groups.groups.size(), 0.0);
      for (const ChannelGroup& grp : s.groups.groups)
        if (grp.prunable && grp.channels > 0) inverse[size_t(grp.id)] = 1.0 / double(grp.channels);
      per_channel_ = torch::tensor(inverse, torch::kDouble);
    }
    masks_.clear();
    rebuild_ranks(s);
  }

  json save() const override {
    std::vector<double> alpha(alpha_.data_ptr<double>(), alpha_.data_ptr<double>() + alpha_.numel());
    return {{"alpha", alpha}, {"salience_seen", salience_seen_}, {"mu", mu_}};
  }

  void load(State& s, const std::string& dir, const json& j) override {
    std::vector<double> alpha = j.at("alpha").get<std::vector<double>>();
    if (alpha.size() != s.groups.groups.size())
      throw UserError("pruning checkpoint in '" + dir + "' is inconsistent: " + std::to_string(alpha.size()) +
                      " widths for " + std::to_string(s.groups.groups.size()) + " channel groups; start a new run");
    for (double v : alpha)
      if (!std::isfinite(v) || v < 0 || v > 1)
        throw UserError("pruning checkpoint in '" + dir + "' is inconsistent: a width fraction (alpha) is not in [0, 1]; "
                        "start a new run");
    alpha_ = torch::tensor(alpha, torch::kDouble);
    salience_seen_ = j.at("salience_seen");
    auto mu = j.at("mu").get<std::vector<double>>();
    for (size_t k = 0; k < 5 && k < mu.size(); ++k) mu_[k] = mu[k];
    after_surgery(s);
  }

  double lambda() const override {
    double m = 0;
    for (double v : mu_) m = std::max(m, v);
    return m;
  }

 private:
  // Data-parallel runs: rank 0's widths and dual multipliers before every decision taken from
  // them (they are computed from the same values on every worker; this removes any doubt).
  void adopt_rank0_widths() {
    if (!dist().active()) return;
    std::vector<torch::Tensor> t{alpha_, torch::tensor(std::vector<double>(mu_, mu_ + 5), torch::kDouble)};
    dist_broadcast_(t);
    for (int k = 0; k < 5; ++k) mu_[k] = t[1][k].item<double>();
  }

  // Removes the channels ranked at or beyond floor(alpha_g * C_g) in every group.
  bool cut_to_widths(State& s) {
    adopt_rank0_widths();
    std::vector<int> targets;
    for (const ChannelGroup& grp : s.groups.groups) {
      int w = grp.channels;
      if (grp.prunable) {
        w = int(std::floor(alpha_[grp.id].item<double>() * grp.channels + 1e-6));
        if (c_.round_to > 1) w = w / c_.round_to * c_.round_to;
        w = std::clamp(w, grp.min_channels, grp.channels);
      }
      targets.push_back(w);
    }
    fill_budgets(s, targets);
    std::vector<double> alpha(alpha_.data_ptr<double>(), alpha_.data_ptr<double>() + alpha_.numel());
    bool cut = remove_channels(s, targets, c_, [&](int g, int old_channels, const std::vector<int>& keep) {
      alpha[size_t(g)] = std::min(1.0, alpha[size_t(g)] * double(old_channels) / double(keep.size()));
    });
    if (cut) {
      alpha_ = torch::tensor(alpha, torch::kDouble);
      after_surgery(s);
    }
    return cut;
  }

  // --fill-budgets: floor(alpha_g * C_g) in every group leaves part of the budgets unused
  // (1 to 6% of the binding one in the benchmark's runs before this existed), where the
  // baselines' searches fill theirs to within a channel. At the cut that meets every budget,
  // the channels it would remove are kept back one --round-to step at a time, while every budget
  // holds; first the group whose soft width alpha_g * C_g reaches furthest past its cut (the one
  // nearest to keeping its next channel). Every resource only
  // grows with a width, so a group that does not fit once never fits later.
  void fill_budgets(const State& s, std::vector<int>& targets) const {
    if (!c_.fill_budgets || !mcu_aware_ || !t_.budgets.any()) return;
    for (bool m : t_.minimize)
      if (m) return;
    auto fits = [&](const std::vector<int>& w) {
      return meets(exact_of(with_widths(s.graph, w, c_.min_width, c_.round_to), t_), t_.budgets);
    };
    if (!fits(targets)) return;
    const int step = std::max(1, c_.round_to);
    std::vector<bool> open(targets.size(), false);
    for (const ChannelGroup& grp : s.groups.groups)
      open[size_t(grp.id)] = grp.prunable && targets[size_t(grp.id)] < grp.channels;
    for (;;) {
      int best = -1;
      double best_left = 0;
      for (const ChannelGroup& grp : s.groups.groups) {
        if (!open[size_t(grp.id)]) continue;
        const double left = alpha_[grp.id].item<double>() * grp.channels - targets[size_t(grp.id)];
        if (best < 0 || left > best_left) best = grp.id, best_left = left;
      }
      if (best < 0) return;
      std::vector<int> trial = targets;
      const int channels = s.groups.groups[size_t(best)].channels;
      trial[size_t(best)] = std::min(channels, trial[size_t(best)] + step);
      if (fits(trial)) {
        targets = trial;
        if (targets[size_t(best)] >= channels) open[size_t(best)] = false;
      } else {
        open[size_t(best)] = false;
      }
    }
  }

  void step_widths(State& s, const StepContext& ctx) {
    // The five soft resources (ram, flash, macs, latency, params) at widths alpha * C.
    torch::Tensor a = alpha_.clone().requires_grad_(true);
    std::vector<torch::Tensor> widths(s.groups.groups.size());
    for (const ChannelGroup& grp : s.groups.groups)
      if (grp.prunable) widths[size_t(grp.id)] = a[grp.id] * double(grp.channels);
    SoftResources soft = soft_resources(soft_model_, widths, t_);
    torch::Tensor direction = torch::zeros_like(alpha_);
    for (int k = 0; k < 5; ++k) {
      const torch::Tensor& value = k < 4 ? soft.value[k] : soft.params;
      double pressure = 0;
      if (!mcu_aware_) {
        // The ablation: only the parameter count, for as long as the exact budgets are not
        // met (pruning is active only then).
        if (k == 4) pressure = 1;
      } else if (k < 4 && t_.budgets.limit[k]) {
        const double u = value.item<double>() / (*t_.budgets.limit[k] * (1 - kSlackMargin));
        mu_[k] = std::clamp(mu_[k] * (u > 1 ? 1 + kDualStep : 1 / (1 + kDualStep)), 1e-3, 1e3);
        pressure = mu_[k] * std::max(0.0, u - 1);
      } else if (k < 4 && t_.minimize[k]) {
        pressure = 1;
      }
      // The gradient only where it is used (this runs every step).
      if (pressure <= 0 || !value.requires_grad()) continue;
      torch::Tensor g = torch::autograd::grad({value}, {a}, {}, /*retain_graph=*/true, /*create_graph=*/false,
                                              /*allow_unused=*/true)[0];
      if (!g.defined()) continue;
      if (log_step_) g = g * alpha_;  // d/dlog(alpha): each group's share of the cost
      if (channel_) g = g * per_channel_;
      // even: every group that costs in r at all gets the same term.
      if (even_) g = (g > 1e-6 * max_abs(g)).to(torch::kDouble);
      const double scale = max_abs(g);
      if (scale > 0) direction = direction + g.detach() * (pressure / scale);
    }
    const double dmax = max_abs(direction);
    if (dmax > 0) direction = direction / dmax;
    if (alpha_leaf_.grad().defined()) {
      torch::Tensor task = alpha_leaf_.grad().detach().to(torch::kDouble);
      if (log_step_) task = task * alpha_;
      if (channel_) task = task * per_channel_;
      const double tmax = max_abs(task);
      if (tmax > 0) direction = direction + task * (c_.task_weight / tmax);
    }
    const int64_t phase_steps =
        std::max<int64_t>(1, int64_t(ctx.prune_end_epoch - ctx.prune_start_epoch) * ctx.steps_per_epoch);
    double lr = c_.alpha_lr > 0 ? c_.alpha_lr : 6.0 / double(phase_steps);
    if (c_.width_ramp > 0) {  // --width-ramp: the rate rises linearly over the phase's first share
      const int64_t t = int64_t(ctx.epoch - ctx.prune_start_epoch) * ctx.steps_per_epoch + ctx.step;
      lr *= std::min(1.0, double(t + 1) / std::max(1.0, c_.width_ramp * double(phase_steps)));
    }
    const torch::Tensor dir = direction.contiguous();
    const double* d = dir.data_ptr<double>();
    for (const ChannelGroup& grp : s.groups.groups) {
      if (!grp.prunable) continue;
      double& a = alpha_.data_ptr<double>()[grp.id];
      const double n = a * grp.channels;
      const double step = lr * d[grp.id] * n / (n + kThinChannels);
      a = log_step_ ? a * std::exp(-step) : a - step;
      a = std::clamp(a, double(grp.min_channels) / grp.channels, 1.0);
    }
  }

  void rebuild_ranks(const State& s) {
    ranks_.assign(s.groups.groups.size(), torch::Tensor());
    for (const ChannelGroup& grp : s.groups.groups) {
      if (!grp.prunable) continue;
      std::vector<int> order(size_t(grp.channels));
      for (int k = 0; k < grp.channels; ++k) order[size_t(k)] = k;
      const auto& sal = s.salience[size_t(grp.id)];
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return sal[size_t(a)] > sal[size_t(b)]; });
      std::vector<float> rank(size_t(grp.channels));
      for (size_t r = 0; r < order.size(); ++r) rank[size_t(order[r])] = float(r);
      ranks_[size_t(grp.id)] = torch::tensor(rank);
    }
  }

  const PruneConfig& c_;
  const Target& t_;
  bool mcu_aware_;
  bool log_step_;  // --width-step relative or even: log(alpha) takes the step (linear, channel: alpha does)
  bool even_;      // --width-step even: every costly group gets the same resource term
  bool channel_;   // --width-step channel: the terms are per channel (d/dc_g), not per fraction
  int64_t warmup_window_;      // warm-up steps before pruning whose salience measurements count
  torch::Tensor per_channel_;  // channel: 1 / C_g of the current widths (0 for fixed groups)
  torch::Tensor alpha_;       // [groups] double, no autograd: updated by step_widths
  torch::Tensor alpha_leaf_;  // float copy with autograd for the masks of this step
  std::vector<torch::Tensor> ranks_, masks_;
  SoftModel soft_model_;
  bool salience_seen_ = false, active_ = false;
  double mu_[5] = {1, 1, 1, 1, 1};  // dual multipliers: ram, flash, macs, latency (params unused)
};

}  // namespace

std::unique_ptr<Method> make_diff_method(const PruneConfig& c, const Target& t, bool mcu_aware) {
  return std::make_unique<DiffMethod>(c, t, mcu_aware);
}

}  // namespace mcuprune::prune_detail
