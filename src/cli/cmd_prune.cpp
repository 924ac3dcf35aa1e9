// `mcuprune prune`: train while removing channels until the model fits the MCU's budgets;
// writes the pruned model (loadable by eval/profile), report.json and a before/after table.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <filesystem>

#include "cli/allocator.h"
#include "cli/common.h"
#include "nn/device.h"
#include "nn/dist.h"
#include "graph/io.h"
#include "graph/channel_groups.h"
#include "graph/graph_json.h"
#include "prune/prune.h"

namespace mcuprune {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct PruneArgs {
  ModelSpec model;
  PruneConfig cfg;
  std::string out, resume;
  bool force = false;
  BudgetOptions budgets;
  OutputOptions output;
  bool no_html = false;
  DistOptions dist;
};

void print_summary(const PruneConfig& cfg, const Profile& before, const Profile& after, const EvalResult& test,
                   const std::optional<double>& test_before, const std::vector<FallbackRecord>& fallbacks) {
  std::printf("\nmethod: %s\n", cfg.method.c_str());
  std::printf("\n%-22s %14s %14s %14s  %s\n", "resource", "before", "after", "budget", "");
  auto row = [&](const char* name, double b, double a, std::optional<double> budget, bool bytes) {
    auto f = [&](double v) { return bytes ? format_bytes(int64_t(v)) : std::to_string(int64_t(v)); };
    std::string bud = budget ? f(*budget) : "-";
    std::string verdict = budget ? (a <= *budget ? "fits" : "OVER") : "";
    std::printf("%-22s %14s %14s %14s  %s\n", name, f(b).c_str(), f(a).c_str(), bud.c_str(), verdict.c_str());
  };
  auto budget_of = [&](Resource r) -> std::optional<double> {
    for (const auto& b : after.budgets)
      if (b.resource == r) return b.budget;
    return std::nullopt;
  };
  row("RAM (peak + runtime)", double(before.ram_bytes()), double(after.ram_bytes()), budget_of(Resource::Ram), true);
  row("  peak activations", double(before.used.peak_bytes), double(after.used.peak_bytes), std::nullopt, true);
  row("flash", double(before.flash_bytes), double(after.flash_bytes), budget_of(Resource::Flash), true);
  row("MACs", double(before.macs), double(after.macs), budget_of(Resource::Macs), false);
  row("parameters", double(before.params), double(after.params), std::nullopt, false);
  auto lat = budget_of(Resource::Latency);
  std::printf("%-22s %11.2f ms %11.2f ms %14s  %s\n", "latency", before.latency_ms, after.latency_ms,
              lat ? (std::to_string(*lat) + " ms").c_str() : "-",
              lat ? (after.latency_ms <= *lat ? "fits" : "OVER") : "");
  std::printf("bottleneck operator: %s -> %s\n",
              before.deployed.ops[before.used.order[before.used.bottleneck_step]].name.c_str(),
              after.deployed.ops[after.used.order[after.used.bottleneck_step]].name.c_str());
  auto plan = [](const Profile& p) {
    if (!p.patch) return std::string("layer by layer");
    const PatchGeometry& g = p.patch->geometry;
    return std::to_string(g.rows) + "x" + std::to_string(g.cols) + " patches up to '" +
           p.deployed.tensors[size_t(g.cut)].name + "'";
  };
  if (before.patch || after.patch)
    std::printf("first stage: %s -> %s (peak layer by layer: %s -> %s)\n", plan(before).c_str(), plan(after).c_str(),
                format_bytes(before.optimal.peak_bytes).c_str(), format_bytes(after.optimal.peak_bytes).c_str());
  if (!after.patch_note.empty()) std::printf("note: %s\n", after.patch_note.c_str());
  if (after.patch) std::printf("note: %s\n", patch_deploy_note(after.deployed, after.patch->geometry).c_str());
  if (test_before) std::printf("test accuracy: %.4f before, %.4f after pruning\n", *test_before, test.accuracy);
  else std::printf("test accuracy: %.4f\n", test.accuracy);
  if (!cfg.min_width_choice.empty()) std::printf("minimum group width: %s\n", cfg.min_width_choice.c_str());
  if (fallbacks.empty()) std::printf("fallbacks used: none\n");
  for (const FallbackRecord& f : fallbacks)
    std::printf("FALLBACK used (%s, end of epoch %d): %s\n", f.kind.c_str(), f.epoch, f.detail.c_str());
}

void run_prune(PruneArgs a, bool epochs_given, bool threads_given, bool device_given) {
  auto wall0 = std::chrono::steady_clock::now();
  bool resume = !a.resume.empty();
  // Data-parallel workers (docs/distributed.md): rank 0 owns the output directory; the others
  // read what they need and write nothing.
  init_dist(resolve_dist(a.dist));
  const bool lead = is_rank0();
  if (!lead) a.output.quiet = true;
  if (!resume || device_given) use_device(a.cfg.train.device);  // a device refused before anything is written
  LoadedModel start;
  std::string model_source = a.model.model;
  std::unique_ptr<OutputDir> dir;
  if (resume) {
    if (!a.out.empty() && fs::weakly_canonical(a.out) != fs::weakly_canonical(a.resume))
      throw UserError("--out and --resume name different directories; with --resume the run "
                      "continues in its own directory");
    if (lead) {
      dir = open_resumed_model_dir(a.resume, "prune", "checkpoint/prune_state.json", a.output.log_json);
      a.out = dir->work_path();
    }
    const std::string work = dist_rank0_ready(lead ? a.out : std::string());
    if (!lead) a.out = work;
    PruneConfig saved = read_prune_config(a.out);
    if (epochs_given) saved.train.epochs = a.cfg.train.epochs;
    if (threads_given) saved.train.threads = a.cfg.train.threads;
    if (device_given) saved.train.device = a.cfg.train.device;
    a.cfg = saved;
    model_source = "checkpoint";
  } else {
    if (a.out.empty()) throw UserError("--out DIR is required (where the pruned model and report go)");
    a.cfg.budgets = parse_budgets(a.budgets);
    validate_prune_config(a.cfg);  // before the directory is made
    if (lead) {
      dir = open_new_model_dir(a.out, "prune", a.force, "checkpoint/prune_state.json", a.output.log_json);
      a.out = dir->work_path();
    }
    dist_rank0_ready("");  // a refusal on rank 0 (a used directory) ends the others here
  }
  const std::string shown = lead ? dir->path() : a.out;  // the directory the user named
  a.output.resume_dir = shown;
  if (lead)
    if (const int n = remove_stale_temporaries(a.out, is_model_dir_entry))
      std::fprintf(stderr, "note: removed %d temporary file(s) that a killed run left in '%s'\n", n, a.out.c_str());
  a.cfg.train.load.seed = a.cfg.train.seed;
  validate_train_config(a.cfg.train);
  a.cfg.train.load.keep_audio = a.cfg.train.augmentation.audio;
  DatasetSplits data = load_dataset(a.cfg.train.dataset, a.cfg.train.load);
  Graph original;
  if (resume) {
    original = read_prune_original(a.out);
  } else {
    start = resolve_model(a.model, &data.train);
    start.graph.check_classifier_output();
    original = start.graph;
  }
  dist_check_same(prune_config_to_json(a.cfg).dump() + graph_to_json(original).dump(), "pruning configuration or model");
  const std::string device = use_device(a.cfg.train.device);
  if (!a.output.quiet)
    std::fprintf(stderr, "pruning %s on %s for %d epochs (%zu train / %zu val / %zu test samples, device %s)\n",
                 resume ? "(resumed)" : original.name.c_str(), a.cfg.train.dataset.c_str(),
                 a.cfg.train.epochs, data.train.size(), data.val.size(), data.test.size(), device.c_str());
  PruneResult r = prune_model(original, start.has_weights ? &start.weights : nullptr, data, a.cfg,
                              a.out, resume, a.output);
  if (r.interrupted) return;
  a.cfg.min_width = r.min_width;  // an automatic width as the run resolved it
  a.cfg.min_width_choice = r.min_width_choice;
  a.cfg.bottleneck_groups = r.bottleneck_groups;
  a.cfg.bottleneck_width = r.bottleneck_width;
  std::optional<double> test_before;  // every worker evaluates its share
  if (!resume && start.has_weights)
    test_before = evaluate_model(original, start.weights, data.test, 256, a.cfg.train.threads).accuracy;
  EvalResult val, test;
  if (data.val.size()) val = evaluate_model(r.graph, r.weights, data.val, 256, a.cfg.train.threads);
  test = evaluate_model(r.graph, r.weights, data.test, 256, a.cfg.train.threads);
  if (!lead) return;
  original = read_prune_original(a.out);
  save_graph((fs::path(a.out) / "model.json").string(), r.graph);
  save_weights((fs::path(a.out) / "weights.bin").string(), r.weights);

  Board board = find_board(a.cfg.board.empty() ? "nucleo-f446re" : a.cfg.board);
  const ProfileOptions po = profile_options(a.cfg);
  Profile before = profile_graph(original, board, po);
  Profile after = profile_graph(r.graph, board, po);

  ChannelGroups g0 = find_channel_groups(original), g1 = find_channel_groups(r.graph);
  json groups = json::array();
  for (size_t k = 0; k < g0.groups.size() && k < g1.groups.size(); ++k) {
    json producers = json::array();
    for (int p : g0.groups[k].producers) producers.push_back(original.nodes[size_t(p)].name);
    groups.push_back({{"id", k}, {"producers", producers}, {"prunable", g0.groups[k].prunable},
                      {"channels_before", g0.groups[k].channels}, {"channels_after", g1.groups[k].channels}});
  }
  json layers = json::array();
  for (const Node& n : original.nodes) {
    int i = r.graph.find(n.name);
    if (i < 0 || n.kind == OpKind::Input) continue;
    layers.push_back({{"name", n.name}, {"op", op_kind_name(n.kind)}, {"channels_before", n.out.c},
                      {"channels_after", r.graph.nodes[size_t(i)].out.c}});
  }
  json budgets = json::array();
  for (size_t k = 0; k < after.budgets.size(); ++k)
    budgets.push_back({{"resource", resource_name(after.budgets[k].resource)}, {"unit", resource_unit(after.budgets[k].resource)},
                       {"budget", after.budgets[k].budget}, {"before", before.budgets[k].used},
                       {"after", after.budgets[k].used}, {"fits", after.budgets[k].fits}});
  json hist = json::array(), fallbacks = json::array();
  for (const auto& e : r.history) hist.push_back(prune_epoch_to_json(e));
  for (const auto& f : r.fallbacks) fallbacks.push_back(fallback_to_json(f));
  double train_s = 0;
  for (const auto& e : r.history) train_s += e.seconds;
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  json acc = {{"val", val.accuracy}, {"test", test.accuracy}};
  if (test_before) acc["test_before"] = *test_before;
  json report = {{"format", "mcuprune-report"},
                 {"version", 1},
                 {"command", "prune"},
                 {"method", a.cfg.method},
                 {"mcuprune_version", kVersion},
                 {"model_before", model_summary_json(original)},
                 {"model_after", model_summary_json(r.graph)},
                 {"model_source", model_source},
                 {"dataset", dataset_summary_json(data, a.cfg.train.dataset)},
                 {"config", prune_config_to_json(a.cfg)},
                 {"board", board.name},
                 {"resources", {{"before", profile_to_json(before).at("totals")},
                                {"after", profile_to_json(after).at("totals")}}},
                 {"patch", {{"before", profile_to_json(before).at("patch")},
                            {"after", profile_to_json(after).at("patch")},
                            {"note", after.patch_note}}},
                 {"budgets", budgets},
                 {"budgets_met", after.fits()},
                 {"groups", groups},
                 {"fallbacks", fallbacks},
                 {"layers", layers},
                 {"history", hist},
                 {"epochs", r.epochs_completed},
                 {"accuracy", acc},
                 {"loss", {{"val", val.loss}, {"test", test.loss}}},
                 {"test_confusion_matrix", test.confusion},
                 {"train_time_s", train_s},
                 {"wall_time_s", wall},
                 {"workers", dist().world},
                 {"global_batch_size", a.cfg.train.batch_size * dist().world},
                 {"device", device},
                 {"allocator", allocator_setting()}};
  write_report((fs::path(a.out) / "report.json").string(), report);
  if (!a.no_html) write_run_page((fs::path(a.out) / "report.json").string(), report, a.out);
  print_summary(a.cfg, before, after, test, test_before, r.fallbacks);
  std::printf("%s\n", after.fits() ? "every budget holds" : "NOT every budget holds");
  dir->commit();
  if (!a.output.quiet)
    std::fprintf(stderr, "pruned model and report written to %s%s\n", shown.c_str(), a.no_html ? "" : " (report.html: the page)");
  if (!after.fits()) throw UserError("the pruned model does not meet every budget (see the table above)");
}

}  // namespace

void add_prune_command(CLI::App& app) {
  auto args = std::make_shared<PruneArgs>();
  args->cfg.train.epochs = 4;
  CLI::App* c = app.add_subcommand(
      "prune",
      "Train a model while removing channels until it fits a microcontroller.\n\n"
      "Budgets come from --board (its RAM and flash) and/or --ram, --flash, --macs, --latency-ms.\n"
      "Sizes (--ram, --flash): 64KiB, 0.5MiB, 2MiB or a plain number of bytes (KB and MB are refused as\n"
      "ambiguous). Counts (--macs): 200k, 5M, 1.5G or a plain number.\n\n"
      "Examples:\n"
      "  mcuprune prune --model vgg --dataset fashion-mnist --board nucleo-f446re --epochs 4 --out runs/p\n"
      "  mcuprune prune --model resnet8 --dataset fashion-mnist --ram 32KiB --flash 64KiB --macs 2M \\\n"
      "      --epochs 6 --warmup-epochs 1 --importance taylor --round-to 4 --out runs/r8p\n"
      "  mcuprune prune --model runs/trained --dataset fashion-mnist --board rp2040 --out runs/p2\n"
      "  mcuprune prune --model vgg --dataset fashion-mnist --board nucleo-f446re --method uniform --out runs/u\n"
      "  mcuprune prune --resume runs/p          # continue after Ctrl-C\n");
  add_training_options(c, args->cfg.train, args->model);
  c->add_option("--method", args->cfg.method,
                "diff (differentiable, MCU-aware), or a baseline: uniform (width multiplier), magnitude "
                "(global weight-norm ranking), dpf (dynamic pruning with feedback), unaware (diff with a "
                "parameter-count objective)")
      ->capture_default_str();
  c->add_option("--board", args->cfg.board, "board (see 'mcuprune boards') or board JSON file");
  add_budget_options(c, args->budgets, "RAM budget: peak activations + runtime data, in bytes, KiB or MiB (e.g. 64KiB)");
  c->add_option("--minimize", args->cfg.minimize, "resources to shrink without a budget: ram flash macs latency");
  c->add_option("--runtime", args->cfg.runtime, "cmsis-nn, reference, tflm, tflm-cmsis-nn or mcuprune (default: the board's)");
  c->add_flag("--inplace-add", args->cfg.inplace_add, "model in-place ADD");
  c->add_option("--patch", args->cfg.patch,
                "patch-based execution of the first stage where the runtime runs it (--runtime mcuprune): "
                "auto (the best plan, re-planned after every surgery), none, or RxC@TENSOR")
      ->capture_default_str();
  c->add_option("--patch-max-overhead", args->cfg.patch_max_overhead,
                "--patch auto: the most extra MACs a plan may cost, as a fraction of layer by layer's")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  c->add_option("--warmup-epochs", args->cfg.warmup_epochs, "epochs before pruning starts (default: 0 for diff and unaware without --distill; otherwise 1, or 0 with --epochs 1)");
  c->add_option("--prune-every", args->cfg.prune_every, "steps between channel removals")->capture_default_str();
  c->add_option("--finetune-epochs", args->cfg.finetune_epochs, "epochs kept for fine-tuning (-1: a quarter)")
      ->capture_default_str();
  c->add_option("--importance", args->cfg.importance, "taylor, l1, l2, bn or random")->capture_default_str();
  c->add_option("--round-to", args->cfg.round_to, "keep widths at multiples of N")->capture_default_str();
  c->add_option("--pad-channels", args->cfg.pad_channels,
                "while training, pad each pruned layer with zero channels up to a multiple of N (faster convolutions; "
                "the zero channels stay zero and are not in the result); 1: off")
      ->capture_default_str();
  c->add_option("--min-width", args->cfg.min_width,
                "narrowest a group may become (0: automatic: 4 channels where that floor takes at most half of every budget, "
                "else 2 with 4 for the designed bottlenecks where that is cheap, or 1 where a budget cannot be met with 2)")
      ->capture_default_str();
  c->add_option("--alpha-lr", args->cfg.alpha_lr, "diff: largest width change per step (0: 6 / steps of the pruning phase)")
      ->capture_default_str();
  c->add_option("--task-weight", args->cfg.task_weight,
                "diff, unaware: weight of the task loss's pull on the widths against the budgets' (rho)")
      ->capture_default_str();
  c->add_option("--width-ramp", args->cfg.width_ramp,
                "diff, unaware: the width step's rate rises linearly to its full value over this share of the pruning "
                "phase (0: full rate from the first step)")
      ->capture_default_str();
  c->add_option("--width-step", args->cfg.width_step,
                "diff, unaware: linear (each group moves by what a fraction of its channels costs), relative (each group "
                "shrinks by a fraction in proportion to its share of the cost), even (every group with any cost in a "
                "violated budget shrinks by the same fraction, moved apart by the task term) or channel (each group's "
                "fraction moves by what one of its channels costs, so a layer is not cut by a larger fraction for having "
                "many channels)")
      ->capture_default_str();
  c->add_option("--temperature", args->cfg.temperature, "soft-mask temperature (channels)")->capture_default_str();
  c->add_option("--norm", args->cfg.norm, "magnitude, dpf: channel weight norm, l1 or l2")->capture_default_str();
  c->add_option("--magnitude-steps", args->cfg.magnitude_steps, "magnitude: removal steps over the pruning phase")
      ->capture_default_str();
  c->add_option("--dpf-every", args->cfg.dpf_every, "dpf: steps between mask updates")->capture_default_str();
  c->add_option("--salience-decay", args->cfg.salience_decay,
                "diff: decay of the salience's moving average per step (closer to 1: a longer window)")
      ->capture_default_str();
  c->add_option("--distill", args->cfg.distill,
                "weight of distillation from the network at the end of the warm-up (0: off; e.g. 0.5)")
      ->capture_default_str();
  c->add_option("--distill-temperature", args->cfg.distill_temperature, "distillation softmax temperature")
      ->capture_default_str();
  c->add_flag("--lr-rewarm,!--no-lr-rewarm", args->cfg.lr_rewarm,
              "once pruning ends, restart a cosine learning rate from the pruning phase's first rate "
              "(default; --no-lr-rewarm: keep the run's own cosine)");
  c->add_flag("--fold-masks,!--no-fold-masks", args->cfg.fold_masks,
              "diff, unaware: once pruning ends, fold each kept channel's last soft-mask value into the weights that "
              "read it, so the network keeps computing what it computed with the masks (default off: the masks are "
              "dropped)");
  c->add_flag("--fill-budgets,!--no-fill-budgets", args->cfg.fill_budgets,
              "diff: at the cut that meets the budgets, keep back the channels it would remove while every budget "
              "still holds (default; --no-fill-budgets: cut every group to floor(alpha * C))");
  c->add_option("--out", args->out, "output directory (pruned model, checkpoint, report.json)");
  c->add_option("--resume", args->resume, "continue the interrupted run in this directory");
  c->add_flag("--quiet", args->output.quiet, "no progress output");
  c->add_flag("--force", args->force, "replace a model already in --out (a run there is continued with --resume)");
  c->add_option("--log-json", args->output.log_json, "append one JSON object per epoch to FILE");
  c->add_flag("--no-html", args->no_html, "no report.html (the page of report.json)");
  add_dist_options(c, args->dist);
  c->callback([args, c] {
    bool epochs_given = c->get_option("--epochs")->count() > 0;
    bool threads_given = c->get_option("--threads")->count() > 0;
    bool device_given = c->get_option("--device")->count() > 0;
    if (!args->resume.empty()) {
      const std::vector<std::string> allowed = {"--resume", "--out", "--epochs", "--threads", "--device", "--quiet", "--log-json",
                                                "--no-html", "--dist-url", "--world-size", "--rank", "--dist-timeout"};
      for (const CLI::Option* o : c->get_options()) {
        std::string name = o->get_name(false, false);
        if (o->count() > 0 && std::find(allowed.begin(), allowed.end(), name) == allowed.end())
          throw UserError(name + " cannot be given with --resume: the run continues with the "
                          "configuration saved in its checkpoint");
      }
    } else {
      if (args->model.model.empty()) throw UserError("--model is required (see 'mcuprune models')");
      if (args->cfg.train.dataset.empty()) throw UserError("--dataset is required, e.g. --dataset fashion-mnist");
      check_training_option_effects(c, args->cfg.train, args->model);
      const std::string& m = args->cfg.method;
      const std::string with = "with --method " + m;
      refuse_without_effect(c, "--norm", m == "magnitude" || m == "dpf" || m == "uniform", with + " (magnitude, dpf and uniform rank channels by weight norm)");
      refuse_without_effect(c, "--magnitude-steps", m == "magnitude", with + " (it is magnitude's)");
      refuse_without_effect(c, "--dpf-every", m == "dpf", with + " (it is dpf's)");
      for (const char* o : {"--importance", "--alpha-lr", "--temperature", "--prune-every", "--task-weight", "--width-step",
                            "--width-ramp"})
        refuse_without_effect(c, o, m == "diff" || m == "unaware", with + " (it is diff's and unaware's)");
      if (c->get_option("--warmup-epochs")->count() > 0 && args->cfg.warmup_epochs < 0)
        throw UserError("--warmup-epochs must be >= 0, got " + std::to_string(args->cfg.warmup_epochs));
    }
    run_prune(*args, epochs_given, threads_given, device_given);
  });
}

}  // namespace mcuprune
