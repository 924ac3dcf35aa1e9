// `uniform`: what a user without a pruning tool does. The largest width multiplier f,
// applied to every prunable group (round(f * C_g), respecting --min-width and --round-to),
// whose model meets every budget under the exact model; the model is cut to those widths
// before the first step and trained for all the epochs.
#include "prune/internal.h"

namespace mcuprune::prune_detail {

namespace {

class UniformMethod : public Method {
 public:
  UniformMethod(const PruneConfig& c, const Target& t) : c_(c), t_(t) {}

  void start(State& s) override {
    auto widths_for = [&](double f) {
      std::vector<int> w;
      for (const ChannelGroup& grp : s.groups.groups)
        w.push_back(grp.prunable ? round_width(f * grp.channels, grp, c_.round_to) : grp.channels);
      return w;
    };
    auto fits = [&](double f) {
      return meets(exact_of(with_widths(s.graph, widths_for(f), c_.min_width, c_.round_to), t_), t_.budgets);
    };
    double lo = 0, hi = 1;
    if (fits(1)) lo = 1;
    for (int it = 0; it < 30 && lo < 1; ++it) {
      double mid = (lo + hi) / 2;
      (fits(mid) ? lo : hi) = mid;
    }
    // Keep the channels with the largest weights (a pretrained start keeps what it learned;
    // from a random init the choice does not matter).
    s.salience = normalized_weight_norms(s, c_.norm);
    remove_channels(s, widths_for(lo), c_);
    s.pruning_done = true;
  }

 private:
  const PruneConfig& c_;
  const Target& t_;
};

}  // namespace

std::unique_ptr<Method> make_uniform_method(const PruneConfig& c, const Target& t) {
  return std::make_unique<UniformMethod>(c, t);
}

}  // namespace mcuprune::prune_detail
