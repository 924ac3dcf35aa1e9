// The pruning configuration: its JSON form (checkpoints, reports), its validation, and the
// profile options it implies.
#include <algorithm>

#include "prune/internal.h"

namespace mcuprune {

using nlohmann::json;

const std::vector<std::string>& prune_methods() {
  static const std::vector<std::string> m = {"diff", "uniform", "magnitude", "dpf", "unaware"};
  return m;
}

json prune_config_to_json(const PruneConfig& c) {
  return {{"method", c.method}, {"train", train_config_to_json(c.train)}, {"board", c.board},
          {"budgets", budgets_to_json(c.budgets)},
          {"minimize", c.minimize}, {"runtime", c.runtime}, {"inplace_add", c.inplace_add},
          {"patch", c.patch}, {"patch_max_overhead", c.patch_max_overhead},
          {"warmup_epochs", c.warmup_epochs}, {"prune_every", c.prune_every},
          {"finetune_epochs", c.finetune_epochs}, {"importance", c.importance},
          {"round_to", c.round_to}, {"min_width", c.min_width}, {"pad_channels", c.pad_channels},
          {"alpha_lr", c.alpha_lr}, {"task_weight", c.task_weight}, {"width_ramp", c.width_ramp},
          {"width_step", c.width_step},
          {"temperature", c.temperature}, {"salience_decay", c.salience_decay},
          {"norm", c.norm}, {"magnitude_steps", c.magnitude_steps}, {"dpf_every", c.dpf_every},
          {"distill", c.distill}, {"distill_temperature", c.distill_temperature}, {"lr_rewarm", c.lr_rewarm},
          {"fold_masks", c.fold_masks}, {"fill_budgets", c.fill_budgets}, {"min_width_choice", c.min_width_choice},
          {"bottleneck_groups", c.bottleneck_groups}, {"bottleneck_width", c.bottleneck_width}};
}

PruneConfig prune_config_from_json(const json& j, const std::string& where) {
  PruneConfig c;
  const std::string bad = "'" + where + "': bad pruning configuration: ";
  auto whole = [&](const char* key, int fallback, bool optional) {
    if (optional && !j.contains(key)) return fallback;
    const json& v = j.at(key);
    if (!v.is_number_integer() || v.get<int64_t>() < -1 || v.get<int64_t>() > 2147483647)
      throw UserError(bad + "\"" + key + "\" must be a whole number, got " + v.dump());
    return v.get<int>();
  };
  auto number = [&](const char* key) {
    const json& v = j.at(key);
    if (!v.is_number()) throw UserError(bad + "\"" + key + "\" must be a number, got " + v.dump());
    return v.get<double>();
  };
  try {
    if (!j.is_object()) throw UserError(bad + "expected an object");
    c.method = j.value("method", "diff");  // checkpoints from before --method were diff
    c.train = train_config_from_json(j.at("train"), where);
    c.board = j.at("board");
    c.budgets = budgets_from_json(j.at("budgets"));
    c.minimize = j.at("minimize").get<std::vector<std::string>>();
    c.runtime = j.at("runtime");
    c.inplace_add = j.at("inplace_add");
    c.warmup_epochs = whole("warmup_epochs", 0, false);
    c.prune_every = whole("prune_every", 0, false);
    c.finetune_epochs = whole("finetune_epochs", 0, false);
    c.importance = j.at("importance");
    c.round_to = whole("round_to", 0, false);
    c.min_width = whole("min_width", 0, false);
    c.min_width_choice = j.value("min_width_choice", std::string());
    // Runs from before the bottleneck floor: none.
    if (j.contains("bottleneck_groups")) c.bottleneck_groups = j.at("bottleneck_groups").get<std::vector<int>>();
    c.bottleneck_width = whole("bottleneck_width", 0, true);
    c.pad_channels = whole("pad_channels", 1, true);  // runs from before padding trained exact widths
    c.alpha_lr = number("alpha_lr");
    if (j.contains("task_weight")) c.task_weight = number("task_weight");  // runs from before the option: 0.5
    if (j.contains("width_ramp")) c.width_ramp = number("width_ramp");     // runs from before the option: 0
    c.width_step = j.value("width_step", std::string("linear"));
    c.temperature = number("temperature");
    c.salience_decay = number("salience_decay");
    c.norm = j.value("norm", "l2");
    c.magnitude_steps = whole("magnitude_steps", 4, true);
    c.dpf_every = whole("dpf_every", 16, true);
    // Runs from before distillation and re-warming had neither.
    if (j.contains("distill")) c.distill = number("distill");
    if (j.contains("distill_temperature")) c.distill_temperature = number("distill_temperature");
    c.lr_rewarm = j.value("lr_rewarm", false);
    c.fold_masks = j.value("fold_masks", false);  // runs from before the option dropped the gates
    c.fill_budgets = j.value("fill_budgets", false);  // runs from before the option cut to the floor
    // Runs from before patch plans ran layer by layer.
    c.patch = j.value("patch", std::string("none"));
    if (j.contains("patch_max_overhead")) c.patch_max_overhead = number("patch_max_overhead");  // absent: a run from before re-warming existed
  } catch (const json::exception& e) {
    throw UserError(bad + e.what());
  }
  return c;
}

ProfileOptions profile_options(const PruneConfig& c) {
  ProfileOptions o;
  o.inplace_add = c.inplace_add;
  o.runtime = c.runtime;
  o.budgets = c.budgets;
  o.board_budgets = !c.board.empty();  // without a board only explicit budgets apply
  const Board board = find_board(c.board.empty() ? "nucleo-f446re" : c.board);
  if (find_runtime(c.runtime.empty() ? board.runtime : c.runtime).patch_execution) {
    o.patch = c.patch;
    o.patch_max_overhead = c.patch_max_overhead;
  }
  return o;
}

namespace prune_detail {

void validate(const PruneConfig& c) {
  validate_train_config(c.train);
  auto bad = [](const std::string& m) { throw UserError(m); };
  const auto& methods = prune_methods();
  if (std::find(methods.begin(), methods.end(), c.method) == methods.end())
    bad("--method must be one of diff, uniform, magnitude, dpf, unaware; got '" + c.method + "'");
  const std::vector<std::string> imp = {"taylor", "l1", "l2", "bn", "random"};
  if (std::find(imp.begin(), imp.end(), c.importance) == imp.end())
    bad("--importance must be one of taylor, l1, l2, bn, random; got '" + c.importance + "'");
  if (c.norm != "l1" && c.norm != "l2") bad("--norm must be l1 or l2; got '" + c.norm + "'");
  if (c.prune_every < 1) bad("--prune-every must be >= 1 step");
  if (c.magnitude_steps < 1) bad("--magnitude-steps must be >= 1");
  if (c.dpf_every < 1) bad("--dpf-every must be >= 1 step");
  const std::string epochs = std::to_string(c.train.epochs);
  if (c.warmup_epochs < 0) bad("--warmup-epochs must be >= 0, got " + std::to_string(c.warmup_epochs));
  if (c.warmup_epochs >= c.train.epochs)
    bad("--warmup-epochs " + std::to_string(c.warmup_epochs) + " leaves no epoch for pruning with --epochs " + epochs +
        ": give fewer warm-up epochs (at most " + std::to_string(c.train.epochs - 1) + ") or more --epochs");
  const int most_finetune = c.train.epochs - c.warmup_epochs - 1;
  if (c.finetune_epochs < -1)
    bad("--finetune-epochs must be >= 0, or -1 for a quarter of the epochs; got " + std::to_string(c.finetune_epochs));
  if (c.finetune_epochs > most_finetune)
    bad("--finetune-epochs " + std::to_string(c.finetune_epochs) + " leaves no epoch for pruning with --epochs " +
        epochs + " and " + std::to_string(c.warmup_epochs) + " warm-up epoch(s): give at most " +
        std::to_string(most_finetune) + " (or -1: a quarter of the epochs), or more --epochs");
  if (c.round_to < 1) bad("--round-to must be >= 1");
  if (c.min_width < 0) bad("--min-width must be >= 1, or 0 for automatic (4 where that floor takes at most half of every budget, else 2, or 1 where a budget needs it)");
  if (c.bottleneck_width < 0 || std::any_of(c.bottleneck_groups.begin(), c.bottleneck_groups.end(), [](int id) { return id < 0; }))
    bad("the pruning configuration's bottleneck_groups and bottleneck_width must not be negative (they are resolved "
        "with the automatic --min-width: start a new run)");
  if (c.pad_channels < 1 || c.pad_channels > 256) bad("--pad-channels must be in [1, 256] (1: no padding)");
  if (!(c.alpha_lr >= 0) || c.alpha_lr > 1) bad("--alpha-lr must be in [0, 1] (0: automatic)");
  if (!(c.task_weight >= 0 && c.task_weight <= 100))
    bad("--task-weight must be in [0, 100] (the task term's weight in the width step; 0.5 is the default)");
  if (!(c.width_ramp >= 0 && c.width_ramp <= 1))
    bad("--width-ramp must be in [0, 1] (the share of the pruning phase over which the width step reaches its full "
        "rate; 0, the default: from the first step)");
  if (c.width_step != "linear" && c.width_step != "relative" && c.width_step != "even" && c.width_step != "channel")
    bad("--width-step must be linear, relative, even or channel; got '" + c.width_step + "'");
  if (!(c.temperature > 0 && c.temperature <= 1000)) bad("--temperature must be a number in (0, 1000] (channels; 1 is usual)");
  if (!(c.salience_decay >= 0 && c.salience_decay < 1)) bad("--salience-decay must be in [0, 1)");
  if (!(c.distill >= 0 && c.distill <= 1)) bad("--distill must be in [0, 1] (the distillation loss's weight; 0: off)");
  if (!(c.distill_temperature > 0 && c.distill_temperature <= 100))
    bad("--distill-temperature must be in (0, 100] (4 is usual)");
  if (c.distill > 0 && c.warmup_epochs == 0)
    bad("--distill needs a warm-up (its teacher is the network at the end of the warm-up): give --warmup-epochs 1 "
        "or more (with --epochs 2 or more), or --distill 0");
  if (c.method != "diff" && !c.minimize.empty())
    bad("--minimize works with --method diff only; the baselines need budgets (--board, --ram, --flash, "
        "--macs, --latency-ms)");
}

// The warm-up's default: none for diff and its ablation, which prune from the first step over a
// longer, more gradual phase (bench/results/prune_ideas_warmup0.md: level within seed noise
// or better at 5 levels, mobilenetv2 at 1/16 of its flash 51.9% against 26.0% with a 1-epoch
// warm-up); one epoch (with --epochs 2 or more) for the baselines, whose recipes train before
// they prune, and for --distill, whose teacher is the network at the end of the warm-up.
void resolve_defaults(PruneConfig& c) {
  const bool from_the_start = (c.method == "diff" || c.method == "unaware") && c.distill <= 0;
  if (c.warmup_epochs == -1) c.warmup_epochs = from_the_start || c.train.epochs < 2 ? 0 : 1;
}

}  // namespace prune_detail

void validate_prune_config(PruneConfig& c) {
  prune_detail::resolve_defaults(c);
  prune_detail::validate(c);
}
}  // namespace mcuprune
