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
#include <sstream>

#include "graph/graph_json.h"
#include "graph/io.h"
#include "nn/progress.h"
#include "nn/train_internal.h"
#include "prune/internal.h"

namespace mcuprune {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace detail;
using namespace prune_detail;

const std::vector<std::string>& prune_methods() {
  static const std::vector<std::string> m = {"diff", "uniform", "magnitude", "dpf", "unaware"};
  return m;
}

json prune_config_to_json(const PruneConfig& c) {
  json b = json::object();
  if (c.budgets.ram_bytes) b["ram_bytes"] = *c.budgets.ram_bytes;
  if (c.budgets.flash_bytes) b["flash_bytes"] = *c.budgets.flash_bytes;
  if (c.budgets.macs) b["macs"] = *c.budgets.macs;
  if (c.budgets.latency_ms) b["latency_ms"] = *c.budgets.latency_ms;
  return {{"method", c.method}, {"train", train_config_to_json(c.train)}, {"board", c.board}, {"budgets", b},
          {"minimize", c.minimize}, {"runtime", c.runtime}, {"inplace_add", c.inplace_add},
          {"warmup_epochs", c.warmup_epochs}, {"prune_every", c.prune_every},
          {"finetune_epochs", c.finetune_epochs}, {"importance", c.importance},
          {"round_to", c.round_to}, {"min_width", c.min_width}, {"alpha_lr", c.alpha_lr},
          {"temperature", c.temperature}, {"salience_decay", c.salience_decay},
          {"norm", c.norm}, {"magnitude_steps", c.magnitude_steps}, {"dpf_every", c.dpf_every}};
}

PruneConfig prune_config_from_json(const json& j, const std::string& where) {
  PruneConfig c;
  try {
    c.method = j.value("method", "diff");  // checkpoints from before --method were diff
    c.train = train_config_from_json(j.at("train"), where);
    c.board = j.at("board");
    const json& b = j.at("budgets");
    if (b.contains("ram_bytes")) c.budgets.ram_bytes = b["ram_bytes"].get<int64_t>();
    if (b.contains("flash_bytes")) c.budgets.flash_bytes = b["flash_bytes"].get<int64_t>();
    if (b.contains("macs")) c.budgets.macs = b["macs"].get<int64_t>();
    if (b.contains("latency_ms")) c.budgets.latency_ms = b["latency_ms"].get<double>();
    c.minimize = j.at("minimize").get<std::vector<std::string>>();
    c.runtime = j.at("runtime");
    c.inplace_add = j.at("inplace_add");
    c.warmup_epochs = j.at("warmup_epochs");
    c.prune_every = j.at("prune_every");
    c.finetune_epochs = j.at("finetune_epochs");
    c.importance = j.at("importance");
    c.round_to = j.at("round_to");
    c.min_width = j.at("min_width");
    c.alpha_lr = j.at("alpha_lr");
    c.temperature = j.at("temperature");
    c.salience_decay = j.at("salience_decay");
    c.norm = j.value("norm", "l2");
    c.magnitude_steps = j.value("magnitude_steps", 4);
    c.dpf_every = j.value("dpf_every", 16);
  } catch (const json::exception& e) {
    throw UserError("'" + where + "': bad pruning configuration: " + e.what());
  }
  return c;
}

namespace {

using namespace prune_detail;

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
  if (c.warmup_epochs < 0 || c.warmup_epochs >= c.train.epochs)
    bad("--warmup-epochs must be in [0, epochs) (it is " + std::to_string(c.warmup_epochs) + " with " +
        std::to_string(c.train.epochs) + " epochs)");
  if (c.round_to < 1) bad("--round-to must be >= 1");
  if (c.min_width < 1) bad("--min-width must be >= 1");
  if (!(c.alpha_lr >= 0) || c.alpha_lr > 1) bad("--alpha-lr must be in [0, 1] (0: automatic)");
  if (!(c.temperature > 0)) bad("--temperature must be > 0");
  if (!(c.salience_decay >= 0 && c.salience_decay < 1)) bad("salience decay must be in [0, 1)");
  if (c.method != "diff" && !c.minimize.empty())
    bad("--minimize works with --method diff only; the baselines need budgets (--board, --ram, --flash, "
        "--macs, --latency-ms)");
}

std::string ckpt_dir(const std::string& out) { return (fs::path(out) / "checkpoint").string(); }

void save_state(const std::string& out, State& s, Method& m, const Graph& original, const PruneConfig& c,
                int epochs_completed, bool interrupted, const std::vector<PruneEpoch>& hist) {
  const std::string dir = ckpt_dir(out);
  const std::string tag = "e" + std::to_string(epochs_completed) + (interrupted ? "i" : "");
  const std::string wfile = "weights-" + tag + ".bin", ofile = "optimizer-" + tag + ".pt";
  save_graph((fs::path(dir) / "model.json").string(), s.graph);
  save_graph((fs::path(dir) / "original.json").string(), original);
  save_weights((fs::path(dir) / wfile).string(), s.net->weight_map());
  std::ostringstream os;
  torch::save(*s.opt, os);
  write_file_atomic((fs::path(dir) / ofile).string(), os.str());
  json method_state = m.save();
  json h = json::array(), fb = json::array();
  for (const auto& e : hist) h.push_back(prune_epoch_to_json(e));
  for (const auto& f : s.fallbacks) fb.push_back(fallback_to_json(f));
  json state = {{"format", "mcuprune-prune-checkpoint"}, {"version", 2},
                {"epochs_completed", epochs_completed}, {"interrupted", interrupted},
                {"weights", wfile}, {"optimizer", ofile}, {"salience", s.salience},
                {"pruning_done", s.pruning_done}, {"global_step", s.global_step}, {"initial", s.initial},
                {"method_state", method_state}, {"fallbacks", fb},
                {"config", prune_config_to_json(c)}, {"history", h}};
  write_file_atomic((fs::path(dir) / "prune_state.json").string(), state.dump() + "\n");
  remove_stale_checkpoint_files(dir, {wfile, ofile});
}

json read_state_json(const std::string& out) {
  std::string path = (fs::path(ckpt_dir(out)) / "prune_state.json").string();
  if (!fs::exists(path))
    throw UserError("no pruning checkpoint to resume in '" + out + "' (missing " + path +
                    "); start a new run without --resume");
  try {
    json j = json::parse(read_file(path));
    if (j.value("format", "") != "mcuprune-prune-checkpoint") throw UserError("'" + path + "' is not a pruning checkpoint");
    if (j.value("version", 0) != 2)
      throw UserError("pruning checkpoint '" + path + "' was written by another version of mcuprune (format version " +
                      std::to_string(j.value("version", 0)) + ", this one reads 2); start a new run in another --out directory");
    return j;
  } catch (const json::parse_error& e) {
    throw UserError("pruning checkpoint '" + path + "' is corrupt: " + e.what());
  }
}

ExactResources resources_from_json(const json& r) {
  ExactResources x;
  x.ram_bytes = r.at("ram_bytes");
  x.flash_bytes = r.at("flash_bytes");
  x.macs = r.at("macs");
  x.latency_ms = r.at("latency_ms");
  x.params = r.value("params", int64_t(0));
  x.bottleneck = r.at("bottleneck");
  return x;
}

FallbackRecord fallback_from_json(const json& f) {
  FallbackRecord r;
  r.kind = f.at("kind");
  r.epoch = f.at("epoch");
  r.detail = f.at("detail");
  r.before = resources_from_json(f.at("before"));
  r.after = resources_from_json(f.at("after"));
  return r;
}

PruneEpoch epoch_from_json(const json& e) {
  PruneEpoch p;
  p.epoch = e.at("epoch");
  p.train_loss = e.at("train_loss");
  p.train_accuracy = e.at("train_accuracy");
  p.val_loss = e.at("val_loss");
  p.val_accuracy = e.at("val_accuracy");
  p.lambda = e.at("lambda");
  p.seconds = e.at("seconds");
  p.channels = e.at("channels");
  p.pruning_done = e.at("pruning_done");
  p.resources = resources_from_json(e.at("resources"));
  return p;
}


int64_t prunable_channels(const ChannelGroups& cg) {
  int64_t n = 0;
  for (const auto& g : cg.groups)
    if (g.prunable) n += g.channels;
  return n;
}

}  // namespace

json prune_epoch_to_json(const PruneEpoch& e) {
  return {{"epoch", e.epoch}, {"train_loss", e.train_loss}, {"train_accuracy", e.train_accuracy},
          {"val_loss", e.val_loss}, {"val_accuracy", e.val_accuracy}, {"lambda", e.lambda},
          {"seconds", e.seconds}, {"channels", e.channels}, {"pruning_done", e.pruning_done},
          {"resources", resources_json(e.resources)}};
}

json fallback_to_json(const FallbackRecord& f) {
  return {{"kind", f.kind}, {"epoch", f.epoch}, {"detail", f.detail},
          {"before", resources_json(f.before)}, {"after", resources_json(f.after)}};
}

ProfileOptions profile_options(const PruneConfig& c) {
  ProfileOptions o;
  o.inplace_add = c.inplace_add;
  o.runtime = c.runtime;
  o.budgets = c.budgets;
  o.board_budgets = !c.board.empty();  // without a board only explicit budgets apply
  return o;
}

PruneConfig read_prune_config(const std::string& out_dir) {
  json j = read_state_json(out_dir);
  return prune_config_from_json(j.at("config"), ckpt_dir(out_dir));
}

void check_prune_feasible(const Graph& g, const PruneConfig& cfg) {
  validate(cfg);
  Target t = resolve_target(cfg);
  bool any = false;
  for (int k = 0; k < 4; ++k) any = any || t.budget[k] || t.minimize[k];
  if (!any)
    throw UserError("nothing to prune for: give --board NAME or a budget (--ram, --flash, --macs, "
                    "--latency-ms) or --minimize RESOURCE");
  ChannelGroups cg = find_channel_groups(g, cfg.min_width, cfg.round_to);
  if (cg.prunable_count() == 0)
    throw UserError("model '" + g.name + "' has no prunable channel group");
  std::vector<int> mins;
  for (const auto& grp : cg.groups) mins.push_back(grp.prunable ? grp.min_channels : grp.channels);
  ExactResources r = exact_of(with_widths(g, mins, cfg.min_width, cfg.round_to), t);
  for (int k = 0; k < 4; ++k)
    if (t.budget[k] && value_of(r, k) > *t.budget[k])
      throw UserError(std::string("the ") + kResourceNames[k] + " budget of " + format_value(k, *t.budget[k]) +
                      " cannot be met: even with every prunable group at its minimum width the model needs " +
                      format_value(k, value_of(r, k)) +
                      (k == 0 ? " (bottleneck operator: " + r.bottleneck + ")" : std::string()) +
                      "; raise the budget, lower --min-width, or choose a smaller model");
}

PruneResult prune_model(const Graph& g_in, const WeightMap* init, const DatasetSplits& data,
                        const PruneConfig& cfg_in, const std::string& out_dir, bool resume,
                        const OutputOptions& out) {
  PruneConfig cfg = cfg_in;
  validate(cfg);
  set_threads(cfg.train.threads);
  check_data_fits(g_in, data.train);
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
    json j = read_state_json(out_dir);
    const std::string dir = ckpt_dir(out_dir);
    original = load_graph((fs::path(dir) / "original.json").string());
    s.graph = load_graph((fs::path(dir) / "model.json").string());
    s.net = Net(s.graph);
    s.net->load_weight_map(load_weights((fs::path(dir) / j.at("weights").get<std::string>()).string()), dir);
    s.opt = make_optimizer(cfg.train, s.net);
    torch::load(*s.opt, (fs::path(dir) / j.at("optimizer").get<std::string>()).string());
    s.groups = find_channel_groups(s.graph, cfg.min_width, cfg.round_to);
    s.salience = j.at("salience").get<std::vector<std::vector<float>>>();
    if (s.salience.size() != s.groups.groups.size())
      throw UserError("pruning checkpoint in '" + dir + "' is inconsistent: salience for " +
                      std::to_string(s.salience.size()) + " channel groups, the model has " +
                      std::to_string(s.groups.groups.size()) + "; start a new run");
    for (const ChannelGroup& grp : s.groups.groups)
      if (s.salience[size_t(grp.id)].size() != size_t(grp.channels))
        throw UserError("pruning checkpoint in '" + dir + "' is inconsistent: group " + std::to_string(grp.id) +
                        " has " + std::to_string(grp.channels) + " channels but " +
                        std::to_string(s.salience[size_t(grp.id)].size()) + " salience values; start a new run");
    s.pruning_done = j.at("pruning_done");
    s.global_step = j.at("global_step");
    auto init_r = j.at("initial").get<std::vector<double>>();
    for (int k = 0; k < 4; ++k) s.initial[k] = init_r.at(size_t(k));
    for (const auto& f : j.at("fallbacks")) s.fallbacks.push_back(fallback_from_json(f));
    method->load(s, dir, j.at("method_state"));
    start_epoch = j.at("epochs_completed");
    for (const auto& e : j.at("history")) result.history.push_back(epoch_from_json(e));
  } else {
    check_prune_feasible(original, cfg);
    s.graph = original;
    s.net = Net(s.graph);
    if (init) s.net->load_weight_map(*init, "initial weights");
    s.opt = make_optimizer(cfg.train, s.net);
    s.groups = find_channel_groups(s.graph, cfg.min_width, cfg.round_to);
    s.salience.resize(s.groups.groups.size());
    for (const auto& grp : s.groups.groups) s.salience[size_t(grp.id)].assign(size_t(grp.channels), 0.0f);
    ExactResources r0 = exact_of(original, target);
    for (int k = 0; k < 4; ++k) s.initial[k] = value_of(r0, k);
    if (target.any_budget() && meets(r0, target)) {
      s.pruning_done = true;  // nothing to remove: the run trains the model as it is
      if (!out.quiet) std::fprintf(stderr, "the model already meets every budget: training it without pruning\n");
    } else {
      method->start(s);
    }
  }

  std::ofstream log;
  if (!out.log_json.empty()) {
    log.open(out.log_json, std::ios::app);
    if (!log) throw UserError("cannot open log file '" + out.log_json + "' for writing");
  }
  const int finetune = cfg.finetune_epochs >= 0 ? cfg.finetune_epochs : std::max(1, cfg.train.epochs / 4);
  const Dataset& train = data.train;
  const size_t bs = size_t(cfg.train.batch_size);
  StepContext ctx;  // the pruning schedule, read by the methods
  ctx.steps_per_epoch = int64_t((train.size() + bs - 1) / bs);
  ctx.prune_start_epoch = cfg.warmup_epochs;
  ctx.prune_end_epoch = std::max(cfg.warmup_epochs + 1, cfg.train.epochs - finetune);
  auto t0 = std::chrono::steady_clock::now();
  result.epochs_completed = start_epoch;

  for (int epoch = start_epoch; epoch < cfg.train.epochs; ++epoch) {
    EpochProgress bar(epoch + 1, cfg.train.epochs, int64_t(train.size()), out.quiet);
    ctx.epoch = epoch;
    EpochHooks hooks;
    hooks.before_forward = [&](int64_t step) {
      ctx.step = step;
      if (s.pruning_done) s.net->clear_gates();
      else method->before_forward(s, ctx);
    };
    hooks.after_step = [&](int64_t) {
      if (!s.pruning_done) method->after_step(s, ctx);
      ++s.global_step;
      if (!s.pruning_done && method->maybe_prune(s, ctx)) {
        // With budgets, pruning ends once they hold; --minimize alone prunes for the whole
        // pruning phase.
        if (method->stops_when_budgets_met() && target.any_budget() && meets(exact_of(s.graph, target), target)) {
          s.pruning_done = true;
          s.net->clear_gates();
        }
      }
    };
    const EpochTotals t = train_epoch(s.net, s.opt, train, cfg.train, epoch, original.normalization, bar, hooks);
    if (t.interrupted) {
      s.net->clear_gates();
      save_state(out_dir, s, *method, original, cfg, epoch, true, result.history);
      bar.finish("interrupted in epoch " + std::to_string(epoch + 1) + "; checkpoint saved to " + ckpt_dir(out_dir) +
                 "; continue with --resume " + out_dir);
      result.interrupted = true;
      break;
    }
    // At the end of the pruning phase the budgets must hold.
    if (!s.pruning_done && epoch + 1 >= ctx.prune_end_epoch) {
      method->end_pruning_phase(s);
      if (target.any_budget() && !meets(exact_of(s.graph, target), target)) {
        fallback_fit(s, cfg, target, epoch + 1, *method);
        if (!out.quiet) std::fprintf(stderr, "\nFALLBACK %s: %s\n", s.fallbacks.back().kind.c_str(), s.fallbacks.back().detail.c_str());
      }
      s.pruning_done = true;
    }
    if (s.pruning_done) s.net->clear_gates();
    else method->validation_gates(s);
    PruneEpoch pe;
    pe.epoch = epoch + 1;
    pe.seconds = bar.elapsed_seconds();
    pe.train_loss = t.seen ? t.loss_sum / double(t.seen) : 0;
    pe.train_accuracy = t.seen ? double(t.correct) / double(t.seen) : 0;
    if (data.val.size()) {
      EvalResult v = evaluate_net(s.net, data.val, original.normalization, 256);
      pe.val_loss = v.loss;
      pe.val_accuracy = v.accuracy;
    }
    s.net->clear_gates();
    pe.lambda = method->lambda();
    pe.channels = prunable_channels(s.groups);
    pe.pruning_done = s.pruning_done;
    pe.resources = exact_of(s.graph, target);
    result.history.push_back(pe);
    result.epochs_completed = epoch + 1;
    save_state(out_dir, s, *method, original, cfg, epoch + 1, false, result.history);
    std::string line = "epoch " + std::to_string(pe.epoch) + "/" + std::to_string(cfg.train.epochs);
    char buf[256];
    std::snprintf(buf, sizeof buf, "  loss %.4f  acc %.4f  val_acc %.4f  lambda %.3g  channels %lld", pe.train_loss,
                  pe.train_accuracy, pe.val_accuracy, pe.lambda, (long long)pe.channels);
    line += buf;
    for (int k = 0; k < 4; ++k)
      if (target.budget[k])
        line += std::string("  ") + kResourceNames[k] + " " + format_value(k, value_of(pe.resources, k)) + "/" +
                format_value(k, *target.budget[k]);
    line += s.pruning_done ? "  [fine-tuning]" : epoch < cfg.warmup_epochs ? "  [warm-up]" : "  [pruning]";
    bar.finish(line);
    if (log) log << prune_epoch_to_json(pe).dump() << "\n" << std::flush;
  }
  result.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  s.net->clear_gates();
  result.graph = s.graph;
  result.graph.normalization = original.normalization;
  result.graph.class_names = original.class_names;
  result.weights = s.net->weight_map();
  result.budgets_met = meets(exact_of(s.graph, target), target);
  result.fallbacks = s.fallbacks;
  return result;
}

}  // namespace mcuprune
