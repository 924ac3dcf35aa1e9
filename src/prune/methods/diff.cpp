// `diff` (the differentiable MCU-aware method) and `unaware` (its ablation: the same widths
// and masks, with the parameter count as the objective instead of the MCU resource models).
// Per prunable group a learnable width alpha_g; channel of rank r gets the soft mask
// m = sigmoid((alpha_g * C_g - r - 0.5) / tau); the soft widths c_g = sum(m) enter the
// shared resource formulas; loss = CE + lambda * penalty. Every prune_every steps channels
// ranked beyond round(alpha_g * C_g) are removed.
#include <random>
#include <sstream>

#include "graph/io.h"

#include "prune/internal.h"

namespace mcuprune::prune_detail {

namespace {

using nlohmann::json;

class DiffMethod : public Method {
 public:
  DiffMethod(const PruneConfig& c, const Target& t, bool mcu_aware) : c_(c), t_(t), mcu_aware_(mcu_aware) {}

  void start(State& s) override {
    alpha_ = torch::ones({int64_t(s.groups.groups.size())}).requires_grad_(true);
    make_alpha_optimizer();
    std::mt19937_64 rng(c_.train.seed * 31 + 7);
    for (const auto& grp : s.groups.groups)
      if (c_.importance == "random")
        for (float& v : s.salience[size_t(grp.id)]) v = float(rng() % 1000000) / 1e6f;
    lambda_ = c_.lambda_init;
    params0_ = exact_of(s.graph, t_).params;
    after_surgery(s);
  }

  void before_forward(State& s, const StepContext& ctx) override {
    const bool active = ctx.in_pruning_phase();
    const bool taylor = c_.importance == "taylor";
    masks_.assign(s.groups.groups.size(), torch::Tensor());
    active_ = active;
    if (!active && !taylor) {
      s.net->clear_gates();
      return;
    }
    for (const ChannelGroup& grp : s.groups.groups) {
      if (!grp.prunable) continue;
      torch::Tensor m;
      if (active) {
        m = torch::sigmoid((alpha_[grp.id] * float(grp.channels) - ranks_[size_t(grp.id)] - 0.5f) /
                           float(c_.temperature));
        m.retain_grad();
      } else {
        m = torch::ones({grp.channels}).requires_grad_(true);
      }
      masks_[size_t(grp.id)] = m;
    }
    s.net->set_gates(s.groups, masks_);
    if (alpha_.grad().defined()) alpha_.grad().zero_();
  }

  torch::Tensor extra_loss(State& s, const StepContext&) override {
    if (!active_) return {};
    std::vector<torch::Tensor> widths(s.groups.groups.size());
    for (const ChannelGroup& grp : s.groups.groups)
      if (grp.prunable) widths[size_t(grp.id)] = masks_[size_t(grp.id)].sum().to(torch::kDouble);
    soft_ = soft_resources(soft_model_, widths, t_);
    torch::Tensor pen = torch::zeros({}, torch::kDouble);
    if (!mcu_aware_) {
      // The ablation: shrink the parameter count; lambda grows while the exact MCU budgets
      // are not met (pruning is active only then).
      pen = torch::log(soft_.params / double(std::max<int64_t>(1, params0_)));
    } else {
      for (int k = 0; k < 4; ++k) {
        if (t_.budget[k]) pen = pen + torch::relu(soft_.value[k] / *t_.budget[k] - 1.0).pow(2);
        else if (t_.minimize[k] && s.initial[k] > 0) pen = pen + torch::log(soft_.value[k] / s.initial[k]);
      }
    }
    return (pen * lambda_).to(torch::kFloat);
  }

  void after_step(State& s, const StepContext&) override {
    if (active_) {
      alpha_opt_->step();
      torch::NoGradGuard ng;
      for (const ChannelGroup& grp : s.groups.groups)
        if (grp.prunable) alpha_[grp.id].clamp_(float(grp.min_channels) / float(grp.channels), 1.0f);
      bool grow = !mcu_aware_;
      for (int k = 0; k < 4 && mcu_aware_; ++k)
        grow = grow || (t_.budget[k] && soft_.value[k].item<double>() > *t_.budget[k]);
      if (grow) lambda_ = std::min(1e8, lambda_ * (1 + c_.lambda_growth));
    }
    if (c_.importance == "taylor") {
      const float d = salience_seen_ ? float(c_.salience_decay) : 0.0f;
      for (const ChannelGroup& grp : s.groups.groups) {
        const torch::Tensor& m = masks_[size_t(grp.id)];
        if (!grp.prunable || !m.defined() || !m.grad().defined()) continue;
        torch::Tensor v = (m.detach() * m.grad()).abs().contiguous();
        auto& sal = s.salience[size_t(grp.id)];
        const float* pv = v.data_ptr<float>();
        for (size_t k = 0; k < sal.size(); ++k) sal[k] = d * sal[k] + (1 - d) * pv[k];
      }
      salience_seen_ = true;
    }
  }

  bool maybe_prune(State& s, const StepContext& ctx) override {
    if (s.global_step % c_.prune_every != 0) return false;
    if (c_.importance == "l1" || c_.importance == "l2" || c_.importance == "bn")
      s.salience = weight_salience(s, c_.importance);
    rebuild_ranks(s);
    if (!ctx.in_pruning_phase()) return false;
    std::vector<int> targets;
    for (const ChannelGroup& grp : s.groups.groups)
      targets.push_back(grp.prunable ? round_width(alpha_[grp.id].item<float>() * grp.channels, grp, c_.round_to)
                                     : grp.channels);
    std::vector<float> alpha(alpha_.data_ptr<float>(), alpha_.data_ptr<float>() + alpha_.numel());
    bool cut = remove_channels(s, targets, c_, [&](int g, int old_channels, const std::vector<int>& keep) {
      alpha[size_t(g)] = std::min(1.0f, alpha[size_t(g)] * float(old_channels) / float(keep.size()));
    });
    if (cut) {
      torch::NoGradGuard ng;
      alpha_.copy_(torch::tensor(alpha));
      after_surgery(s);
    }
    return cut;
  }

  void validation_gates(State& s) override {
    if (!active_ || masks_.empty()) return s.net->clear_gates();
    std::vector<torch::Tensor> detached;
    for (auto& m : masks_) detached.push_back(m.defined() ? m.detach() : m);
    s.net->set_gates(s.groups, detached);
  }

  void after_surgery(State& s) override {
    soft_model_ = build_soft(s.graph, s.groups, t_);
    masks_.clear();
    rebuild_ranks(s);
  }

  json save(const std::string& dir, const std::string& tag) override {
    std::ostringstream as;
    torch::save(*alpha_opt_, as);
    write_file_atomic(dir + "/" + files(tag)[0], as.str());
    std::vector<float> alpha(alpha_.data_ptr<float>(), alpha_.data_ptr<float>() + alpha_.numel());
    return {{"alpha", alpha}, {"alpha_optimizer", files(tag)[0]}, {"salience_seen", salience_seen_},
            {"lambda", lambda_}, {"params0", params0_}};
  }

  void load(State& s, const std::string& dir, const json& j) override {
    alpha_ = torch::tensor(j.at("alpha").get<std::vector<float>>()).requires_grad_(true);
    if (alpha_.numel() != int64_t(s.groups.groups.size()))
      throw UserError("pruning checkpoint in '" + dir + "' is inconsistent: " + std::to_string(alpha_.numel()) +
                      " widths for " + std::to_string(s.groups.groups.size()) + " channel groups");
    make_alpha_optimizer();
    const std::string path = dir + "/" + j.at("alpha_optimizer").get<std::string>();
    try {
      torch::load(*alpha_opt_, path);
    } catch (const c10::Error& e) {
      throw UserError("cannot load the width optimizer state '" + path + "': " + e.what_without_backtrace());
    }
    salience_seen_ = j.at("salience_seen");
    lambda_ = j.at("lambda");
    params0_ = j.at("params0");
    after_surgery(s);
  }

  std::vector<std::string> files(const std::string& tag) const override { return {"alpha-optimizer-" + tag + ".pt"}; }
  double lambda() const override { return lambda_; }

 private:
  void make_alpha_optimizer() {
    alpha_opt_ = std::make_unique<torch::optim::Adam>(std::vector<torch::Tensor>{alpha_},
                                                      torch::optim::AdamOptions(c_.alpha_lr));
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
  torch::Tensor alpha_;
  std::unique_ptr<torch::optim::Adam> alpha_opt_;
  std::vector<torch::Tensor> ranks_, masks_;
  SoftModel soft_model_;
  SoftResources soft_;
  bool salience_seen_ = false, active_ = false;
  double lambda_ = 1;
  int64_t params0_ = 0;
};

}  // namespace

std::unique_ptr<Method> make_diff_method(const PruneConfig& c, const Target& t, bool mcu_aware) {
  return std::make_unique<DiffMethod>(c, t, mcu_aware);
}

}  // namespace mcuprune::prune_detail
