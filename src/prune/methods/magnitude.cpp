// `magnitude`: the recipe of general pruning libraries. Train (warm-up), then in
// --magnitude-steps equal steps over the pruning phase rank every prunable channel
// globally by the norm of its weights and remove the lowest-ranked ones, until the exact
// model meets the budgets; the remaining epochs fine-tune. Norms are L2 (or L1) over
// every producer's weights of the channel, divided by the mean over the channel's group,
// so that layers of different fan-in and scale compare fairly (an all-zero channel scores
// 0 and goes first). Step k of S aims at R0 * (B / R0)^(k/S) for each budgeted resource
// (a geometric path from the unpruned cost R0 to the budget B); the last step at B.
#include <cmath>

#include "prune/internal.h"

namespace mcuprune::prune_detail {

namespace {

class MagnitudeMethod : public Method {
 public:
  MagnitudeMethod(const PruneConfig& c, const Target& t) : c_(c), t_(t) {}

  bool maybe_prune(State& s, const StepContext& ctx) override {
    if (!ctx.in_pruning_phase()) return false;
    const int64_t phase_start = int64_t(ctx.prune_start_epoch) * ctx.steps_per_epoch;
    const int64_t phase_len = int64_t(ctx.prune_end_epoch - ctx.prune_start_epoch) * ctx.steps_per_epoch;
    // Steps are due at the ends of S equal parts of the phase; the last one is left to
    // end_pruning_phase so that it happens even if an epoch ends early.
    int64_t due = (s.global_step - phase_start) * c_.magnitude_steps / std::max<int64_t>(1, phase_len);
    if (due <= steps_done_ || steps_done_ + 1 >= c_.magnitude_steps) return false;
    return prune_step(s, steps_done_ + 1);
  }

  void end_pruning_phase(State& s) override {
    if (steps_done_ < c_.magnitude_steps) prune_step(s, c_.magnitude_steps);
  }

  nlohmann::json save() const override { return {{"steps_done", steps_done_}}; }
  void load(State&, const std::string&, const nlohmann::json& j) override { steps_done_ = j.at("steps_done"); }

 private:
  // Removal step k of S: the fewest lowest-ranked channels that meet the step's target.
  bool prune_step(State& s, int k) {
    steps_done_ = k;
    Target step_target = t_;
    const double frac = double(k) / c_.magnitude_steps;
    for (int r = 0; r < 4; ++r)
      if (t_.budgets.limit[r] && s.initial[r] > *t_.budgets.limit[r])
        step_target.budgets.limit[r] = s.initial[r] * std::pow(*t_.budgets.limit[r] / s.initial[r], frac);
    s.salience = normalized_weight_norms(s, c_.norm);
    GlobalRanking ranking = rank_globally(s.groups, s.salience);
    std::optional<int64_t> n = fewest_removals_meeting(s.graph, s.groups, ranking, step_target, c_);
    if (!n) n = removable_channels(s.groups);  // cannot happen: feasibility was checked
    return remove_channels(s, widths_after_removing(s.groups, ranking, *n, c_.round_to), c_);
  }

  const PruneConfig& c_;
  const Target& t_;
  int steps_done_ = 0;
};

}  // namespace

std::unique_ptr<Method> make_magnitude_method(const PruneConfig& c, const Target& t) {
  return std::make_unique<MagnitudeMethod>(c, t);
}

}  // namespace mcuprune::prune_detail
