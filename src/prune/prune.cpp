// The pruning loop, shared by every method (src/prune/methods/): batches, the weights'
// optimizer, the task loss, checkpoints and the per-epoch record are here; the method
// decides through its hooks (internal.h) what gates the forward pass and which channels are
// removed when. Pruning ends once the exact integer model meets
// every budget (or, for methods with their own schedule, at the end of the pruning phase);
// if the budgets still do not hold then, the loop's fallback removes channels where the
// binding resource is, and records that it did.
#include "prune/prune.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "graph/graph_json.h"
#include "graph/io.h"
#include "nn/dist.h"
#include "nn/progress.h"
#include "nn/train_internal.h"
#include "prune/internal.h"

namespace mcuprune {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace detail;
using namespace prune_detail;

namespace {

int64_t prunable_channels(const ChannelGroups& cg) {
  int64_t n = 0;
  for (const auto& g : cg.groups)
    if (g.prunable) n += g.channels;
  return n;
}

// --distill: the teacher is the network as it stands now (the end of the warm-up).
void make_teacher(State& s, const PruneConfig& cfg) {
  s.teacher_graph = s.graph;
  s.teacher = Net(s.teacher_graph, cfg.pad_channels);
  s.teacher->load_weight_map(s.net->weight_map(), "the teacher (the network at the end of the warm-up)");
  s.teacher->eval();
}

// The teacher's logits for every training sample, in the dataset's order (one inference pass:
// the teacher's inputs are the same in every epoch). Undefined with augmentation, where each
// batch's inputs differ and go through the teacher as they come.
torch::Tensor teacher_logits(Net& teacher, const Dataset& train, const InputNormalization& norm, const TrainConfig& c) {
  if (c.augmentation.enabled()) return {};
  torch::NoGradGuard no_grad;
  teacher->eval();
  std::vector<size_t> idx(train.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::vector<torch::Tensor> parts;
  for (size_t b = 0; b < train.size(); b += 256) {
    auto [x, y] = make_batch(train, idx, b, std::min(train.size(), b + 256), norm, nullptr, nullptr);
    parts.push_back(teacher->forward(x.to(compute_device()), true));
  }
  return torch::cat(parts);
}

}  // namespace

namespace prune_detail {

torch::Tensor distillation_loss(const torch::Tensor& logits, const torch::Tensor& y, const torch::Tensor& teacher,
                                double alpha, double temperature) {
  const torch::Tensor ce = torch::nn::functional::cross_entropy(logits, y);
  const torch::Tensor log_p_student = torch::log_softmax(logits / temperature, 1);
  const torch::Tensor log_p_teacher = torch::log_softmax(teacher / temperature, 1);
  const torch::Tensor kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(1).mean();
  return (1 - alpha) * ce + alpha * temperature * temperature * kl;
}

}  // namespace prune_detail

namespace {

// Whether some prunable group may lose a channel at cfg's minimum width; `widest` gets the
// widest prunable group.
bool room_to_prune(const ChannelGroups& cg, int& widest) {
  bool room = false;
  widest = 0;
  for (const auto& grp : cg.groups)
    if (grp.prunable) {
      widest = std::max(widest, grp.channels);
      room = room || grp.min_channels < grp.channels;
    }
  return room;
}

// What the model needs with every prunable group at cfg's minimum width (a group narrower
// than that keeps its own).
ResourceUse use_at_minimum(const Graph& g, const PruneConfig& cfg, const Target& t) {
  ChannelGroups cg = groups_of(g, cfg);
  std::vector<int> mins;
  for (const auto& grp : cg.groups) mins.push_back(grp.prunable ? grp.min_channels : grp.channels);
  return exact_of(with_widths(g, mins, cfg.min_width, cfg.round_to), t);
}

// The first budget that r, the model with every prunable group at its minimum width, misses,
// as "the RESOURCE budget of B cannot be met: ... needs R (...)"; "" when all are met.
std::string budget_missed_at_minimum(const ResourceUse& r, const Target& t) {
  for (int k = 0; k < 4; ++k)
    if (t.budgets.limit[k] && r[Resource(k)] > *t.budgets.limit[k])
      return std::string("the ") + resource_name(Resource(k)) + " budget of " + format_resource(Resource(k), *t.budgets.limit[k]) +
             " cannot be met: even with every prunable group at its minimum width the model needs " +
             format_resource(Resource(k), r[Resource(k)]) +
             (k == 0 ? " (bottleneck operator: " + r.bottleneck + ")" : std::string());
  return "";
}

// The automatic floor rises from 2 to 4 channels where, with every prunable group at 4, the
// model needs at most this share of every budget.
constexpr double kFloorShare = 0.5;

// With a floor of 2, the designed bottlenecks keep this many channels where raising them
// costs at most this share of the room the floor of 2 leaves in every budget (the other half
// or more stays for the method to share out, as with the floor of 4).
constexpr int kBottleneckWidth = 4;
constexpr double kBottleneckShare = 0.5;

// With every prunable group at cfg's minimum width: the largest share of a budget the model
// needs; nothing when there is no budget.
std::optional<double> budget_share_at_minimum(const Graph& g, const PruneConfig& cfg, const Target& t) {
  const ResourceUse r = use_at_minimum(g, cfg, t);
  std::optional<double> share;
  for (int k = 0; k < 4; ++k)
    if (t.budgets.limit[k] && *t.budgets.limit[k] > 0)
      share = std::max(share.value_or(0.0), double(r[Resource(k)]) / double(*t.budgets.limit[k]));
  return share;
}

}  // namespace

void resolve_min_width(const Graph& g, PruneConfig& cfg) {
  if (cfg.min_width != 0) return;
  cfg.bottleneck_groups.clear();
  cfg.bottleneck_width = 0;
  int widest = 0;
  if (!room_to_prune(find_channel_groups(g, 2, cfg.round_to), widest)) {
    cfg.min_width = 1;
    cfg.min_width_choice = "automatic: 1 channel, since at 2 no prunable group is wider than 2 channels";
    return;
  }
  const Target t = resolve_target(cfg);  // the budgets, whatever the floor
  PruneConfig at = cfg;
  at.min_width = 2;
  const ResourceUse use2 = use_at_minimum(g, at, t);
  const std::string missed = budget_missed_at_minimum(use2, t);
  if (!missed.empty()) {
    cfg.min_width = 1;
    cfg.min_width_choice = "automatic: 1 channel, since at 2 " + missed;
    return;
  }
  // A floor of 4 where it is cheap: every budget keeps at least half of itself beyond what
  // the model needs with every prunable group at 4, so the floor leaves the method most of
  // the budget to share out and only stops the bottleneck layers the first-order salience
  // cannot see (bench/results/prune_ideas_floor.md).
  at.min_width = 4;
  const std::optional<double> share = budget_share_at_minimum(g, at, t);
  if (share && *share <= kFloorShare && room_to_prune(find_channel_groups(g, 4, cfg.round_to), widest)) {
    char pct[32];
    std::snprintf(pct, sizeof pct, "%.0f%%", std::ceil(100 * *share));  // "at most": rounded up
    cfg.min_width = 4;
    cfg.min_width_choice = std::string("automatic: 4 channels, since at 4 the model needs at most ") + pct +
                           " of each budget";
    return;
  }
  cfg.min_width = 2;
  cfg.min_width_choice = "automatic: 2 channels";
  // The designed bottlenecks at 4 where that is cheap: everything after such a group passes
  // through it, and at 2 channels it starves the rest of the network (at 1/16 of
  // mobilenetv2's flash its block outputs ended at 2-3 channels; bench/results/prune_ideas_bottleneck.md).
  const int raised_width = round_up_width(kBottleneckWidth, cfg.round_to);
  if (raised_width <= round_up_width(2, cfg.round_to)) return;  // --round-to keeps every group that wide already
  const ChannelGroups cg2 = find_channel_groups(g, 2, cfg.round_to);
  at.min_width = 2;
  for (int id : designed_bottlenecks(g, cg2))
    if (cg2.groups[size_t(id)].channels > cg2.groups[size_t(id)].min_channels)
      at.bottleneck_groups.push_back(id);  // the ones the raise widens
  at.bottleneck_width = raised_width;
  if (at.bottleneck_groups.empty()) return;
  const ResourceUse use_raised = use_at_minimum(g, at, t);
  double worst2 = 0, worst_raised = 0;
  bool any = false;
  for (int k = 0; k < 4; ++k) {
    if (!t.budgets.limit[k] || *t.budgets.limit[k] <= 0) continue;
    const double b = *t.budgets.limit[k], s2 = double(use2[Resource(k)]) / b, sr = double(use_raised[Resource(k)]) / b;
    if (sr - s2 > kBottleneckShare * (1 - s2)) return;  // this budget would lose over half its room
    any = true;
    worst2 = std::max(worst2, s2);
    worst_raised = std::max(worst_raised, sr);
  }
  if (!any) return;  // no budget (only --minimize): nothing to price the raise against
  cfg.bottleneck_groups = at.bottleneck_groups;
  cfg.bottleneck_width = raised_width;
  char pct[64];
  std::snprintf(pct, sizeof pct, "%.1f%% of each budget, against %.1f%%", std::ceil(1000 * worst_raised) / 10,
                std::ceil(1000 * worst2) / 10);  // "at most": rounded up
  cfg.min_width_choice += ", " + std::to_string(raised_width) + " in the " + std::to_string(cfg.bottleneck_groups.size()) +
                          " designed bottleneck group(s) (narrower than the layers on either side), where the model needs at most " +
                          pct + " with every group at 2";
}

void check_prune_feasible(const Graph& g, const PruneConfig& cfg_in) {
  PruneConfig cfg = cfg_in;
  resolve_defaults(cfg);
  validate(cfg);
  Target t = resolve_target(cfg);
  bool any = false;
  for (int k = 0; k < 4; ++k) any = any || t.budgets.limit[k] || t.minimize[k];
  if (!any)
    throw UserError("nothing to prune for: give --board NAME or a budget (--ram, --flash, --macs, "
                    "--latency-ms) or --minimize RESOURCE");
  if (find_channel_groups(g, 1, cfg.round_to).prunable_count() == 0)
    throw UserError("model '" + g.name + "' has no prunable channel group");
  resolve_min_width(g, cfg);
  ChannelGroups cg = groups_of(g, cfg);
  int widest = 0;
  if (!room_to_prune(cg, widest)) {
    const std::string opt = cfg.round_to > 1 && cfg.round_to >= cfg.min_width
                                ? "--round-to " + std::to_string(cfg.round_to)
                                : "--min-width " + std::to_string(cfg.min_width);
    throw UserError(opt + " leaves nothing to prune: the widest prunable group of '" + g.name + "' has " +
                    std::to_string(widest) + " channels, so every group must stay whole; give a value below " +
                    std::to_string(widest) + (cfg.round_to > 1 ? " (4 or 8 suit SIMD kernels)" : ""));
  }
  const std::string missed = budget_missed_at_minimum(use_at_minimum(g, cfg, t), t);
  if (!missed.empty()) {
    std::string lower;
    if (cfg.min_width > 1) lower += "--min-width";
    if (cfg.round_to > 1) lower += std::string(lower.empty() ? "" : " or ") + "--round-to";
    throw UserError(missed + "; raise the budget, " + (lower.empty() ? std::string() : "lower " + lower + ", ") +
                    "or choose a smaller model");
  }
}

PruneResult prune_model(const Graph& g_in, const WeightMap* init, const DatasetSplits& data,
                        const PruneConfig& cfg_in, const std::string& out_dir, bool resume,
                        const OutputOptions& out) {
  PruneConfig cfg = cfg_in;
  resolve_defaults(cfg);
  validate(cfg);
  // A fresh run chooses an automatic minimum width here (the methods read it); a resumed one
  // has the choice in its saved configuration.
  if (!resume) resolve_min_width(g_in, cfg);
  set_threads(cfg.train.threads);
  check_data_fits(g_in, data.train);
  check_augmentation(cfg.train, data.train);
  const Target target = resolve_target(cfg);
  std::unique_ptr<Method> method = make_method(cfg, target);
  Graph original = g_in;
  if (original.normalization.empty()) original.normalization = normalization_of(original, data.train);
  if (original.class_names.empty()) original.class_names = data.train.class_names;

  torch::manual_seed(cfg.train.seed);
  State s;
  PruneResult result;
  int start_epoch = 0;
  if (resume) {
    restore_state(out_dir, cfg, s, *method, original, start_epoch, result.history);
  } else {
    check_prune_feasible(original, cfg);
    if (!out.quiet && cfg.min_width == 1 && !cfg.min_width_choice.empty())
      std::fprintf(stderr, "minimum group width: %s\n", cfg.min_width_choice.c_str());
    s.graph = original;
    s.net = Net(s.graph, cfg.pad_channels);
    if (init) s.net->load_weight_map(*init, "initial weights");
    s.opt = make_optimizer(cfg.train, s.net);
    s.groups = groups_of(s.graph, cfg);
    s.salience.resize(s.groups.groups.size());
    for (const auto& grp : s.groups.groups) s.salience[size_t(grp.id)].assign(size_t(grp.channels), 0.0f);
    ResourceUse r0 = exact_of(original, target);
    for (int k = 0; k < 4; ++k) s.initial[k] = r0[Resource(k)];
    // The method's state is set up either way (its checkpoint is saved every epoch).
    method->start(s);
    if (target.budgets.any() && meets(r0, target.budgets)) {
      s.pruning_done = true;  // nothing to remove: the run trains the model as it is
      if (!out.quiet) std::fprintf(stderr, "the model already meets every budget: training it without pruning\n");
    }
  }

  // Data-parallel: every worker starts from rank 0's weights and statistics (a resumed run's
  // optimizer and method state come from the same checkpoint on every worker).
  sync_net_from_rank0(s.net);
  JsonLinesLog log(is_rank0() ? out.log_json : std::string());
  const int finetune = cfg.finetune_epochs >= 0 ? cfg.finetune_epochs : std::max(1, cfg.train.epochs / 4);
  const Dataset& train = data.train;
  const size_t bs = size_t(cfg.train.batch_size) * size_t(dist().world);  // a step's global batch
  StepContext ctx;  // the pruning schedule, read by the methods
  ctx.steps_per_epoch = int64_t((train.size() + bs - 1) / bs);
  ctx.prune_start_epoch = cfg.warmup_epochs;
  ctx.prune_end_epoch = std::max(cfg.warmup_epochs + 1, cfg.train.epochs - finetune);
  auto t0 = std::chrono::steady_clock::now();
  result.epochs_completed = start_epoch;
  torch::Tensor cached_teacher_logits;  // --distill without augmentation: per training sample
  // --lr-rewarm: a fresh cosine from the pruning phase's first rate once pruning has ended.
  const double rewarm_peak = lr_at(cfg.train, cfg.warmup_epochs, 0, ctx.steps_per_epoch);
  const int64_t total_steps = int64_t(cfg.train.epochs) * ctx.steps_per_epoch;
  auto end_pruning = [&] {
    method->pruning_ended(s);
    s.pruning_done = true;
    if (cfg.lr_rewarm && s.rewarm_from < 0 && s.global_step > 0) s.rewarm_from = s.global_step;
  };

  for (int epoch = start_epoch; epoch < cfg.train.epochs; ++epoch) {
    EpochProgress bar(epoch + 1, cfg.train.epochs, int64_t(train.size()), out.quiet);
    ctx.epoch = epoch;
    std::map<std::string, double> time_s;
    auto timed = [&time_s](const char* what, auto&& f) {
      const auto start = std::chrono::steady_clock::now();
      f();
      time_s[what] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    if (cfg.distill > 0 && epoch >= cfg.warmup_epochs) {
      if (!s.teacher) make_teacher(s, cfg);
      if (!cached_teacher_logits.defined() && !cfg.train.augmentation.enabled())
        timed("distill", [&] { cached_teacher_logits = teacher_logits(s.teacher, train, original.normalization, cfg.train); });
    }
    EpochHooks hooks;
    if (s.teacher) {
      hooks.loss = [&](const torch::Tensor& logits, const torch::Tensor& y, const torch::Tensor& x, const BatchRows& rows) {
        torch::Tensor teacher;
        if (cached_teacher_logits.defined()) {
          std::vector<int64_t> index(rows.order.begin() + std::ptrdiff_t(rows.begin), rows.order.begin() + std::ptrdiff_t(rows.end));
          teacher = cached_teacher_logits.index_select(0, torch::tensor(index, torch::kInt64).to(compute_device()));
        } else {
          timed("distill", [&] {
            torch::NoGradGuard no_grad;
            teacher = s.teacher->forward(x, true);
          });
        }
        return distillation_loss(logits, y, teacher, cfg.distill, cfg.distill_temperature);
      };
    }
    if (cfg.lr_rewarm)
      hooks.lr = [&](int64_t, double scheduled) {
        if (s.rewarm_from < 0) return scheduled;
        const double progress = double(s.global_step - s.rewarm_from) / double(std::max<int64_t>(1, total_steps - s.rewarm_from));
        return rewarm_peak * 0.5 * (1 + std::cos(M_PI * std::min(1.0, progress)));
      };
    hooks.before_forward = [&](int64_t step) {
      ctx.step = step;
      timed("gates", [&] {
        if (s.pruning_done) s.net->clear_gates();
        else method->before_forward(s, ctx);
      });
    };
    hooks.summed_gradients = [&] { return s.pruning_done ? std::vector<torch::Tensor>() : method->summed_gradients(); };
    hooks.after_step = [&](int64_t) {
      if (!s.pruning_done) timed("method", [&] { method->after_step(s, ctx); });
      ++s.global_step;
      bool cut = false;
      if (!s.pruning_done) timed("surgery", [&] { cut = method->maybe_prune(s, ctx); });
      if (cut) {
        // With budgets, pruning ends once they hold; --minimize alone prunes for the whole
        // pruning phase.
        if (method->stops_when_budgets_met() && target.budgets.any() && meets(exact_of(s.graph, target), target.budgets)) {
          end_pruning();
          s.net->clear_gates();
        }
      }
    };
    const EpochTotals t = train_epoch(s.net, s.opt, train, cfg.train, epoch, original.normalization, bar, hooks);
    if (t.interrupted) {
      s.net->clear_gates();
      if (is_rank0()) save_state(out_dir, s, *method, original, cfg, epoch, true, result.history);
      bar.finish("interrupted in epoch " + std::to_string(epoch + 1) + "; checkpoint saved to " + ckpt_dir(out_dir) +
                 "; continue with --resume " + (out.resume_dir.empty() ? out_dir : out.resume_dir));
      result.interrupted = true;
      break;
    }
    // At the end of the pruning phase the budgets must hold.
    if (!s.pruning_done && epoch + 1 >= ctx.prune_end_epoch) {
      method->end_pruning_phase(s);
      if (target.budgets.any() && !meets(exact_of(s.graph, target), target.budgets)) {
        fallback_fit(s, cfg, target, epoch + 1, *method);
        if (!out.quiet) std::fprintf(stderr, "\nFALLBACK %s: %s\n", s.fallbacks.back().kind.c_str(), s.fallbacks.back().detail.c_str());
      }
      end_pruning();
    }
    if (s.pruning_done) s.net->clear_gates();
    else method->validation_gates(s);
    PruneEpoch pe;
    pe.epoch = epoch + 1;
    pe.seconds = bar.elapsed_seconds();
    pe.lr = t.lr;
    pe.train_loss = t.seen ? t.loss_sum / double(t.seen) : 0;
    pe.train_accuracy = t.seen ? double(t.correct) / double(t.seen) : 0;
    check_finite_net(s.net, cfg.train, epoch);  // before validation, which would fail on it less clearly
    if (data.val.size()) timed("validation", [&] {
        EvalResult v = evaluate_net(s.net, data.val, original.normalization, 256);
        pe.val_loss = v.loss;
        pe.val_accuracy = v.accuracy;
      });
    s.net->clear_gates();
    pe.lambda = method->lambda();
    pe.channels = prunable_channels(s.groups);
    pe.pruning_done = s.pruning_done;
    pe.resources = exact_of(s.graph, target);
    pe.layout = s.net->layout();
    pe.time_s = time_s;  // the checkpoint's own time is added after it is saved
    result.history.push_back(pe);
    result.epochs_completed = epoch + 1;
    // Surgery decisions are rank 0's, broadcast (remove_channels): the workers' architectures
    // cannot differ, and this says so loudly if they ever did.
    dist_check_same(graph_to_json(s.graph).dump(), "pruned architecture at the end of epoch " + std::to_string(epoch + 1));
    if (is_rank0())
      timed("checkpoint", [&] { save_state(out_dir, s, *method, original, cfg, epoch + 1, false, result.history); });
    result.history.back().time_s = time_s;
    std::string line = "epoch " + std::to_string(pe.epoch) + "/" + std::to_string(cfg.train.epochs);
    char buf[256];
    std::snprintf(buf, sizeof buf, "  loss %.4f  acc %.4f  val_acc %.4f  lambda %.3g  channels %lld", pe.train_loss,
                  pe.train_accuracy, pe.val_accuracy, pe.lambda, (long long)pe.channels);
    line += buf;
    for (int k = 0; k < 4; ++k)
      if (target.budgets.limit[k])
        line += std::string("  ") + resource_name(Resource(k)) + " " + format_resource(Resource(k), pe.resources[Resource(k)]) + "/" +
                format_resource(Resource(k), *target.budgets.limit[k]);
    line += s.pruning_done ? "  [fine-tuning]" : epoch < cfg.warmup_epochs ? "  [warm-up]" : "  [pruning]";
    bar.finish(line);
    log.append(prune_epoch_to_json(pe).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  result.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  s.net->clear_gates();
  result.graph = s.graph;
  result.graph.normalization = original.normalization;
  result.graph.class_names = original.class_names;
  result.graph.onnx_io = original.onnx_io;
  result.weights = s.net->weight_map();
  result.budgets_met = meets(exact_of(s.graph, target), target.budgets);
  result.fallbacks = s.fallbacks;
  result.min_width = cfg.min_width;
  result.min_width_choice = cfg.min_width_choice;
  result.bottleneck_groups = cfg.bottleneck_groups;
  result.bottleneck_width = cfg.bottleneck_width;
  return result;
}

}  // namespace mcuprune
