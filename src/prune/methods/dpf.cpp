// `dpf`: structured Dynamic Pruning with Feedback, as uNAS uses it. During the pruning
// phase, every --dpf-every steps (16) the channel masks are recomputed from the channels'
// weight norms (the same normalised norms as `magnitude`, ranked globally): the lowest
// fraction s_t of the prunable channels is masked, with the cubic schedule
//   s_t = s_f + (s_i - s_f) * (1 - (t - t0) / n)^3,  s_i = 0,
// over the n steps of the pruning phase that starts at step t0. The masked model computes
// the forward pass and the loss; its gradient is applied to the dense weights (the gates
// are straight-through), so a masked channel can grow back. s_f is the smallest fraction
// whose removal meets every budget under the exact model, solved again at each mask update
// from the current ranking. At the end of the pruning phase the masked channels are
// removed physically and the rest fine-tunes.
#include <cmath>

#include "prune/internal.h"

namespace mcuprune::prune_detail {

namespace {

class DpfMethod : public Method {
 public:
  DpfMethod(const PruneConfig& c, const Target& t) : c_(c), t_(t) {}

  void before_forward(State& s, const StepContext& ctx) override {
    if (!ctx.in_pruning_phase() || masks_.empty()) return s.net->clear_gates();
    s.net->set_gates(s.groups, masks_, /*straight_through=*/true);
  }

  bool maybe_prune(State& s, const StepContext& ctx) override {
    if (!ctx.in_pruning_phase()) return false;
    const int64_t t0 = int64_t(ctx.prune_start_epoch) * ctx.steps_per_epoch;
    const int64_t n = int64_t(ctx.prune_end_epoch - ctx.prune_start_epoch) * ctx.steps_per_epoch;
    const int64_t t = s.global_step;  // steps completed
    if (masks_.empty() || (t - t0) % c_.dpf_every == 0) update_masks(s, progress_cubic(t - t0, n));
    return false;  // the architecture changes only at the end of the phase
  }

  bool stops_when_budgets_met() const override { return false; }

  void end_pruning_phase(State& s) override {
    std::vector<int> widths = update_masks(s, 1.0);
    masks_.clear();
    remove_channels(s, widths, c_);
  }

  void validation_gates(State& s) override {
    if (masks_.empty()) return s.net->clear_gates();
    s.net->set_gates(s.groups, masks_);
  }

  void after_surgery(State&) override { masks_.clear(); }

  // The cubic schedule as a fraction of s_f (0 at the start, 1 at the end).
  static double progress_cubic(int64_t dt, int64_t n) {
    double x = 1.0 - std::clamp(double(dt) / double(std::max<int64_t>(1, n)), 0.0, 1.0);
    return 1.0 - x * x * x;
  }

 private:
  // Masks the lowest `progress * s_f` of the prunable channels; returns the widths. The
  // masks are recomputed from the weights at the next update, so a resumed run needs no
  // saved state.
  std::vector<int> update_masks(State& s, double progress) {
    s.salience = normalized_weight_norms(s, c_.norm);
    GlobalRanking ranking = rank_globally(s.groups, s.salience);
    // s_f * (prunable channels): the fewest removals that meet every budget.
    std::optional<int64_t> need = fewest_removals_meeting(s.graph, s.groups, ranking, t_, c_);
    const int64_t final_count = need ? *need : removable_channels(s.groups);
    const int64_t count = progress >= 1.0 ? final_count : int64_t(std::llround(double(final_count) * progress));
    std::vector<int> widths = widths_after_removing(s.groups, ranking, count, c_.round_to);
    masks_.assign(s.groups.groups.size(), torch::Tensor());
    for (const ChannelGroup& grp : s.groups.groups) {
      if (!grp.prunable || widths[size_t(grp.id)] >= grp.channels) continue;
      torch::Tensor m = torch::zeros({grp.channels});
      for (int k : keep_by_score(s.salience[size_t(grp.id)], widths[size_t(grp.id)])) m[k] = 1.0f;
      masks_[size_t(grp.id)] = m;
    }
    return widths;
  }

  const PruneConfig& c_;
  const Target& t_;
  std::vector<torch::Tensor> masks_;
};

}  // namespace

std::unique_ptr<Method> make_dpf_method(const PruneConfig& c, const Target& t) {
  return std::make_unique<DpfMethod>(c, t);
}

double dpf_schedule_fraction(int64_t steps_since_start, int64_t phase_steps) {
  return DpfMethod::progress_cubic(steps_since_start, phase_steps);
}

}  // namespace mcuprune::prune_detail
