// Pruning while training until a model meets its MCU budgets (METHOD.md sections 5, 6 and
// 8), by one of several methods that share one training loop: `diff` (differentiable,
// MCU-aware widths), and the baselines `uniform`, `magnitude`, `dpf` and `unaware`
// (docs/pruning.md). Torch-free header (the CLI includes it).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nn/trainer.h"
#include "resources/profile.h"

namespace mcuprune {

// The methods `--method` accepts.
const std::vector<std::string>& prune_methods();

struct PruneConfig {
  std::string method = "diff";     // diff | uniform | magnitude | dpf | unaware
  TrainConfig train;               // epochs, batch size, optimizer, lr, seed, threads, data
  std::string board;               // name or JSON file; empty: budgets come from options only
  Budgets budgets;                 // explicit budgets (override the board's RAM/flash)
  std::vector<std::string> minimize;  // resources to shrink without a budget: ram flash macs latency
  std::string runtime;             // empty: the board's
  bool inplace_add = false;
  // Patch-based execution of the first stage (resources/patch.h), where the runtime runs it
  // (mcuprune's): "auto" (the best plan, re-planned after every surgery), "none" or
  // "RxC@TENSOR". Runtimes without patch stages run layer by layer whatever this says.
  std::string patch = "auto";
  double patch_max_overhead = 0.2;
  int warmup_epochs = -1;          // train (and collect salience) before pruning starts (-1: see resolve_defaults)
  int prune_every = 50;            // steps between physical removals
  int finetune_epochs = -1;        // epochs reserved for fine-tuning at the end (-1: auto)
  std::string importance = "taylor";  // taylor | l1 | l2 | bn | random
  int round_to = 1;
  // The narrowest a prunable group may become. 0 (the default): automatic, resolved when a
  // run starts (resolve_min_width): 4 channels where the model with every group at 4 needs
  // at most half of every budget, else 2, or 1 where a budget cannot be met with 2 (a thin
  // layer is a bottleneck the salience does not see: bench/results/prune_ideas_minw.md,
  // prune_ideas_floor.md). min_width_choice says how it was chosen ("" if given).
  int min_width = 0;
  std::string min_width_choice;
  // Resolved with the automatic floor of 2 (resolve_min_width): the model's designed
  // bottlenecks (designed_bottlenecks in graph/channel_groups.h; ids of the model as given,
  // which surgery keeps) stay at least bottleneck_width channels wide where that costs at
  // most half of the room the floor of 2 leaves in each budget. Empty / 0: none.
  std::vector<int> bottleneck_groups;
  int bottleneck_width = 0;
  int pad_channels = 8;            // train pruned widths padded with zero channels to multiples of N (1: off)
  double alpha_lr = 0;             // diff: largest width change per step (0: 6 / pruning steps)
  // diff, unaware: the task term's weight (rho) in the width step, against the resource
  // term's (each normalised to a largest entry of 1).
  double task_weight = 0.5;
  // diff, unaware: the width step's rate rises linearly (from 1 / (F * phase steps) of it) to
  // its full value over the first F of the pruning phase (0, the default: full rate from the
  // first step), so that without a warm-up the first cuts wait for salience from a network
  // that has trained a little.
  double width_ramp = 0;
  // diff, unaware: how the widths move. "linear": alpha_g -= lr * direction_g, the direction
  // from each group's d/dalpha_g (a group moves in proportion to what one more fraction of its
  // channels costs, so the largest layer takes the cuts). "relative": log(alpha_g) moves by
  // the d/dlog(alpha_g) terms (each group shrinks by a fraction in proportion to its share of
  // the cost, so a group that has already given up most of its cost stops taking the cuts).
  // "even": log(alpha_g) moves by the same amount for every group with a cost in a violated
  // resource (with one violated budget, a uniform multiplier over those groups), plus the
  // task term on log(alpha). "channel": alpha_g moves by the terms per channel, d/dc_g =
  // (d/dalpha_g) / C_g (a group's fraction shrinks with what one of its channels costs, so
  // with equal prices per channel every group shrinks by the same fraction, as a width
  // multiplier would, before the task term moves them apart: a layer is not cut by a larger
  // fraction for having many channels).
  std::string width_step = "linear";
  double temperature = 1.0;        // soft-mask temperature, in channels
  double salience_decay = 0.9;     // EMA decay of the salience
  std::string norm = "l2";         // magnitude, dpf: channel norm (l1 | l2)
  int magnitude_steps = 4;         // magnitude: removal steps over the pruning phase
  int dpf_every = 16;              // dpf: steps between mask updates
  // Distillation from the network as it stood at the end of the warm-up (the teacher): the
  // loss is (1 - distill) * cross-entropy + distill * T^2 * KL(teacher || student) at
  // temperature T = distill_temperature. 0: off.
  double distill = 0;
  double distill_temperature = 4;
  // Learning-rate re-warming: once pruning ends, the rest of the run follows a fresh cosine
  // from the learning rate the pruning phase started with, down to 0 at the last step. On by
  // default: it won every paired comparison in bench/results/prune_ideas.md.
  bool lr_rewarm = true;
  // diff, unaware: once pruning ends, each kept channel's last soft-mask value is folded into
  // the weights that read it (the gates multiply those weights' input channels), so the
  // network without gates computes what the gated one did on the kept channels. Off (the
  // default: it changed no accuracy beyond noise, bench/results/prune_ideas_minw.md): the
  // gates are dropped and the kept channels near the cut jump from their mask value to 1.
  bool fold_masks = false;
  // diff: at the cut that meets every budget, keep back the channels it would remove, one
  // --round-to step at a time (first the group whose soft width alpha_g * C_g reaches furthest
  // past its cut), for as long as every budget still holds, so that the budgets are used up to
  // the last channel that fits, as the baselines' own searches use theirs. Off with
  // --minimize (the smallest model is asked for) and for `unaware` (its cost model is the
  // parameter count). Runs from before the option read as off.
  bool fill_budgets = true;
};
nlohmann::json prune_config_to_json(const PruneConfig& c);
PruneConfig prune_config_from_json(const nlohmann::json& j, const std::string& where);

// A rescue the method needed to meet the budgets, recorded in the report and the summary.
struct FallbackRecord {
  std::string kind;    // e.g. "greedy-fit"
  int epoch = 0;       // 1-based epoch at whose end it ran
  std::string detail;  // what it changed
  ResourceUse before, after;
};
nlohmann::json fallback_to_json(const FallbackRecord& f);

struct PruneEpoch {
  int epoch = 0;
  double train_loss = 0, train_accuracy = 0, val_loss = 0, val_accuracy = 0;
  double lambda = 0, seconds = 0;
  double lr = 0;  // the learning rate of the epoch's last step
  int64_t channels = 0;  // sum of the prunable groups' widths
  bool pruning_done = false;
  ResourceUse resources;
  // Where the epoch's wall time went, in seconds. Within `seconds` (the training pass):
  // "gates" (masks before each forward), "method" (the method's step after each optimizer
  // step: widths, salience), "surgery" (re-ranking and channel removal), "distill" (--distill:
  // the teacher's logits, once, or per batch with augmentation); the rest of
  // `seconds` is the training itself (batches, forward, backward, optimizer). After it:
  // "validation" and "checkpoint".
  std::map<std::string, double> time_s;
  // The memory layout the epoch's net ended in: "channels-last" or "NCHW" (nn/net.h); its
  // widths decide it, so it can change as channels go.
  std::string layout;
};

// The record of one epoch as JSON (checkpoint, --log-json and report.json share it).
nlohmann::json prune_epoch_to_json(const PruneEpoch& e);

struct PruneResult {
  Graph graph;         // the pruned architecture (with normalisation and class names)
  WeightMap weights;   // its weights
  std::vector<PruneEpoch> history;
  int epochs_completed = 0;
  bool interrupted = false;
  bool budgets_met = false;
  double train_seconds = 0;
  std::vector<FallbackRecord> fallbacks;
  int min_width = 1;             // the minimum group width the run used
  std::string min_width_choice;  // how an automatic one was chosen ("" if given)
  std::vector<int> bottleneck_groups;  // the bottleneck floor the run used (PruneConfig's)
  int bottleneck_width = 0;
};

// Fills in the defaults that depend on other values (the warm-up: none for diff and unaware
// without --distill, otherwise 1 epoch, none for a 1-epoch run) and checks every value;
// throws UserError naming the option to change.
void validate_prune_config(PruneConfig& c);

// How to profile a model for this configuration: its runtime, in-place ADD, and budgets
// (the board's RAM and flash apply only when a board is given).
ProfileOptions profile_options(const PruneConfig& c);

// --min-width 0 (automatic): 4 channels if, with every prunable group at 4 (or at its own
// width, if narrower), the model needs at most half of every budget (and there is a budget);
// else 2 if every budget is reachable with every group at 2, with 4 for the designed
// bottlenecks (rounded up to --round-to) where raising them costs at most half of the room
// the floor of 2 leaves in each budget;
// else 1. min_width_choice says which and why. A given width is left as it is.
void resolve_min_width(const Graph& g, PruneConfig& cfg);

// Checks the configuration and that the budgets are reachable at the minimum widths (an
// automatic minimum resolved first); throws UserError naming the resource, the bottleneck
// operator and the smallest value.
void check_prune_feasible(const Graph& g, const PruneConfig& cfg);

PruneResult prune_model(const Graph& g, const WeightMap* init, const DatasetSplits& data,
                        const PruneConfig& cfg, const std::string& out_dir, bool resume,
                        const OutputOptions& out);

// Reads out_dir/checkpoint/prune_state.json's configuration (for --resume).
PruneConfig read_prune_config(const std::string& out_dir);
// The original architecture of the run checkpointed in out_dir.
Graph read_prune_original(const std::string& out_dir);
// Whether out_dir holds a resumable run (a checkpoint manifest). A checkpoint directory
// without one is what a run killed before its first checkpoint leaves.
bool holds_prune_run(const std::string& out_dir);

}  // namespace mcuprune
