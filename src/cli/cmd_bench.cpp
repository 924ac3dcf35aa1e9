// `mcuprune bench-train`: training throughput (samples/s) of a model on real data, for
// bench/train_throughput. Prints one JSON object.
#include <CLI/CLI.hpp>

#include "cli/allocator.h"
#include "cli/common.h"
#include "graph/graph_json.h"
#include "nn/device.h"
#include "nn/trainer.h"

namespace mcuprune {

namespace {

struct BenchArgs {
  ModelSpec model;
  std::string dataset = "fashion-mnist", save_arch;
  int batch_size = 64, steps = 50, warmup = 5, threads = 0;
  std::string device = "cpu";
  std::string layout = "auto";
  uint64_t seed = 1;
  bool force = false;
};

void run_bench(const BenchArgs& a) {
  if (a.steps < 1 || a.warmup < 0 || a.batch_size < 2)
    throw UserError("--steps must be >= 1, --warmup >= 0, --batch-size >= 2");
  refuse_overwrite(a.save_arch, a.force, "--save-arch");
  const std::string device = use_device(a.device);
  LoadOptions lo;
  lo.val_fraction = 0;
  DatasetSplits data = load_dataset(a.dataset, lo);
  LoadedModel m = resolve_model(a.model, &data.train);
  if (!a.save_arch.empty()) save_graph(a.save_arch, m.graph);
  std::string layout;
  double sps = measure_train_throughput(m.graph, data.train, a.batch_size, a.steps, a.warmup,
                                        a.threads, a.seed, a.layout, &layout);
  nlohmann::json j = {{"model", m.graph.name}, {"dataset", a.dataset}, {"batch_size", a.batch_size},
                      {"steps", a.steps}, {"threads", a.threads}, {"device", device}, {"layout", layout}, {"allocator", allocator_setting()},
                      {"samples_per_second", sps}};
  std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* c = app.add_subcommand(
      "bench-train",
      "Measure training throughput (samples/s) of a model on a dataset.\n\n"
      "Example:\n"
      "  mcuprune bench-train --model resnet8 --dataset fashion-mnist --batch-size 64 --steps 50\n");
  c->add_option("--model", args->model.model, "zoo name or model directory")->required();
  c->add_option("--dataset", args->dataset, "dataset")->capture_default_str();
  c->add_option("--input", args->model.input, "input shape HxWxC for zoo models");
  check_width(c->add_option("--width", args->model.width, "width multiplier for zoo models"));
  c->add_option("--batch-size", args->batch_size, "batch size")->capture_default_str();
  c->add_option("--steps", args->steps, "timed steps")->capture_default_str();
  c->add_option("--warmup", args->warmup, "untimed steps first")->capture_default_str();
  check_threads(c->add_option("--threads", args->threads, "CPU threads (0 = all cores)"));
  check_seed(c->add_option("--seed", args->seed, "seed"))->capture_default_str();
  add_device_option(c, args->device);
  c->add_option("--layout", args->layout,
                "activations' memory layout: auto (channels-last where every width is a multiple of 8), "
                "nchw or channels-last")
      ->check(CLI::IsMember({"auto", "nchw", "channels-last"}))
      ->capture_default_str();
  c->add_option("--save-arch", args->save_arch, "also write the architecture JSON to FILE");
  c->add_flag("--force", args->force, "replace an existing --save-arch file");
  c->callback([args] { run_bench(*args); });
}

}  // namespace mcuprune
