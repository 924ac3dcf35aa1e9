// Pieces shared by the pruning loop (prune.cpp) and the methods (methods/*.cpp): the
// target (budgets and coefficients), exact resource checks, the training state, surgery
// that carries optimizer state, and the method interface. Internal: includes LibTorch.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "graph/channel_groups.h"
#include "nn/net.h"
#include "prune/prune.h"
#include "resources/patch.h"

namespace mcuprune::prune_detail {

// Where the budgets come from and what coefficients the models use.
struct Target {
  Board board;
  std::string runtime;
  bool inplace_add = false;
  std::string patch = "none";  // as ProfileOptions::patch: "none" where the runtime cannot run patches
  double patch_max_overhead = 0.2;
  Budgets budgets;  // in force: the explicit ones and the board's RAM and flash
  std::array<bool, kResourceCount> minimize{};  // by Resource
};

Target resolve_target(const PruneConfig& c);
// Checks the configuration's ranges and choices; throws UserError naming the option.
void validate(const PruneConfig& c);
void resolve_defaults(PruneConfig& c);  // the warm-up default (-1) from the method, --distill and the epochs
ResourceUse exact_of(const Graph& g, const Target& t);

// The channel groups of g with the configuration's floors: --min-width and --round-to, and
// the bottleneck floor (PruneConfig::bottleneck_groups) where one was resolved.
ChannelGroups groups_of(const Graph& g, const PruneConfig& c);

// The architecture with every group at `widths[g]` channels (the first ones kept): for
// resource checks only.
Graph with_widths(Graph g, const std::vector<int>& widths, int min_width, int round_to);
// A width rounded to the group's step (--round-to) and clamped to [min, channels].
int round_width(double w, const ChannelGroup& grp, int round_to);
std::vector<int> current_widths(const ChannelGroups& cg);

// ---- the differentiable resource model of the current architecture ----
struct SoftModel {
  std::shared_ptr<Graph> graph;
  DeployedGraph d;
  std::vector<int> order;       // exact optimal order of the current architecture (with a plan: the plan's)
  std::optional<PatchGeometry> patch;  // the current architecture's patch plan, if any
  std::vector<int> free_group;  // per free tensor: its prunable group, or -1
  std::vector<int64_t> free_exact;
};
SoftModel build_soft(const Graph& g, const ChannelGroups& cg, const Target& t);
// ram, flash, macs, latency, params as differentiable scalars of the soft widths.
struct SoftResources {
  torch::Tensor value[4];
  torch::Tensor params;
};
SoftResources soft_resources(const SoftModel& m, const std::vector<torch::Tensor>& widths, const Target& t);

// ---- training state ----
struct State {
  Graph graph;
  Net net{nullptr};
  std::unique_ptr<torch::optim::Optimizer> opt;
  ChannelGroups groups;
  std::vector<std::vector<float>> salience;  // per group, per channel (method-defined scores)
  bool pruning_done = false;
  int64_t global_step = 0;
  double initial[4] = {0, 0, 0, 0};  // exact resources of the original model
  std::vector<FallbackRecord> fallbacks;
  // --distill: the network at the end of the warm-up (architecture and weights; eval mode).
  Graph teacher_graph;
  Net teacher{nullptr};
  // --lr-rewarm: the global step at which pruning ended (-1: not yet, or no re-warming).
  int64_t rewarm_from = -1;
};

// Removes channels so that group g keeps targets[g] of them, the highest-salience ones:
// rebuilds the net, slices weights, optimizer state and salience; returns whether anything
// was cut. `on_group` is called per cut group (old channel count, kept indices of the old
// numbering), so a method can rescale or slice its own per-group data.
using GroupCut = std::function<void(int group, int old_channels, const std::vector<int>& keep)>;
bool remove_channels(State& s, const std::vector<int>& targets, const PruneConfig& c, const GroupCut& on_group = {});
// Called with the new state after every surgery (tests check invariants of real runs).
std::function<void(const State&)>& surgery_observer();

// Channel scores from weight norms: per group, per channel, the L1 or L2 norm of every
// producer's weights for that channel (rows of all producers together), divided by the
// mean over the group's channels so that groups of different fan-in compare fairly.
std::vector<std::vector<float>> normalized_weight_norms(const State& s, const std::string& norm);
// Unnormalised per-channel scores for diff's --importance l1 | l2 (producer weight norms)
// and bn (BatchNorm |gamma|).
std::vector<std::vector<float>> weight_salience(const State& s, const std::string& kind);

// A global ranking of the prunable channels, lowest score first, and the widths left after
// removing the first `count` of them (never below a group's minimum; --round-to respected
// by rounding the kept count up).
struct GlobalRanking {
  std::vector<std::pair<int, int>> order;  // (group, channel), lowest score first
};
GlobalRanking rank_globally(const ChannelGroups& cg, const std::vector<std::vector<float>>& scores);
std::vector<int> widths_after_removing(const ChannelGroups& cg, const GlobalRanking& r, int64_t count, int round_to);
int64_t removable_channels(const ChannelGroups& cg);
// The fewest lowest-ranked channels whose removal makes the exact model meet `t`'s budgets
// (bisection: resources only fall as channels go). nullopt when even removing every
// removable channel does not.
std::optional<int64_t> fewest_removals_meeting(const Graph& g, const ChannelGroups& cg, const GlobalRanking& r,
                                               const Target& t, const PruneConfig& c);
// The indices of the `count` highest-scored channels, in increasing index order.
std::vector<int> keep_by_score(const std::vector<float>& score, int count);

// ---- a pruning method ----
// The loop in prune.cpp is shared; a method decides, through these hooks, which channels
// go and when. A hook that changes the architecture calls remove_channels. The weights'
// loss is the task loss for every method: costs act on the architecture, never on it.
struct StepContext {
  int epoch = 0;            // 0-based
  int64_t step = 0;         // step within the epoch
  int64_t steps_per_epoch = 0;
  int prune_start_epoch = 0, prune_end_epoch = 0;  // pruning phase: [start, end)
  bool in_pruning_phase() const { return epoch >= prune_start_epoch && epoch < prune_end_epoch; }
};

class Method {
 public:
  virtual ~Method() = default;
  // A fresh run, before the first step (e.g. uniform shrinks the architecture here).
  virtual void start(State&) {}
  // Before the forward pass: set the net's gates (or clear them).
  virtual void before_forward(State& s, const StepContext&) { s.net->clear_gates(); }
  // Data-parallel runs: the tensors of this step (besides the weights) whose gradients are
  // summed over the workers before after_step reads them (e.g. the gates' and widths').
  virtual std::vector<torch::Tensor> summed_gradients() const { return {}; }
  // After the weights' optimizer step.
  virtual void after_step(State&, const StepContext&) {}
  // After after_step, every step while pruning is not done: may remove channels (returns
  // whether it did). The loop ends pruning once the budgets hold after a removal, if the
  // method says that budgets end it.
  virtual bool maybe_prune(State&, const StepContext&) { return false; }
  // Whether meeting every budget ends pruning at once (false: the method follows its own
  // schedule to the end of the pruning phase).
  virtual bool stops_when_budgets_met() const { return true; }
  // At the end of the pruning phase (before the loop's own fallback check).
  virtual void end_pruning_phase(State&) {}
  // Gates for the epoch-end validation while pruning goes on (default: none).
  virtual void validation_gates(State& s) { s.net->clear_gates(); }
  // Checkpoint: the method's own state as JSON (`dir` names the checkpoint in errors).
  virtual nlohmann::json save() const { return nlohmann::json::object(); }
  virtual void load(State&, const std::string& /*dir*/, const nlohmann::json&) {}
  // Per-epoch number reported as `lambda` (the resource weight), 0 if none.
  virtual double lambda() const { return 0; }
  // After every surgery (by the method or the loop's fallback): rebuild derived state.
  virtual void after_surgery(State&) {}
  // Pruning has ended (the budgets hold, or the pruning phase is over), before the loop
  // clears the gates for good: e.g. diff folds its last soft masks into the weights.
  virtual void pruning_ended(State&) {}
};

std::unique_ptr<Method> make_method(const PruneConfig& c, const Target& t);

// --distill's loss: (1 - alpha) * cross-entropy(logits, y) + alpha * T^2 *
// KL(softmax(teacher / T) || softmax(logits / T)), the KL term averaged over the batch.
torch::Tensor distillation_loss(const torch::Tensor& logits, const torch::Tensor& y, const torch::Tensor& teacher,
                                double alpha, double temperature);

// The methods, one file each under methods/.
std::unique_ptr<Method> make_diff_method(const PruneConfig& c, const Target& t, bool mcu_aware);
std::unique_ptr<Method> make_uniform_method(const PruneConfig& c, const Target& t);
std::unique_ptr<Method> make_magnitude_method(const PruneConfig& c, const Target& t);
std::unique_ptr<Method> make_dpf_method(const PruneConfig& c, const Target& t);
// DPF's cubic schedule as a fraction of the final sparsity: 1 - (1 - dt/n)^3, clamped.
double dpf_schedule_fraction(int64_t steps_since_start, int64_t phase_steps);

// The loop's fallback when the pruning phase ends over budget: removes the channels with
// the lowest salience per unit of the most-violated resource, one group step at a time,
// until the budgets hold; recorded in s.fallbacks.
void fallback_fit(State& s, const PruneConfig& c, const Target& t, int epoch, Method& m);

// Checkpoints (checkpoint.cpp): out/checkpoint/, with prune_state.json written last.
std::string ckpt_dir(const std::string& out);
void save_state(const std::string& out, State& s, Method& m, const Graph& original, const PruneConfig& c,
                int epochs_completed, bool interrupted, const std::vector<PruneEpoch>& hist);
nlohmann::json read_state_json(const std::string& out);  // checks format and version
bool has_checkpoint(const std::string& out);              // a manifest is in place
// Resumes: the state, the method's state, the original architecture, the epochs done and
// the history of out/checkpoint; throws UserError where it does not match the model.
void restore_state(const std::string& out_dir, const PruneConfig& cfg, State& s, Method& m, Graph& original,
                   int& start_epoch, std::vector<PruneEpoch>& history);

}  // namespace mcuprune::prune_detail
