// `mcuprune import`: an ONNX CNN as an mcuprune model directory (model.json + weights.bin).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "cli/common.h"
#include "cli/parse.h"
#include "graph/graph_json.h"
#include "graph/io.h"
#include "resources/budget.h"

namespace mcuprune {

namespace {

struct ImportArgs {
  std::string model, out, mean, stddev;
  bool force = false;
};

void run_import(const ImportArgs& a) {
  namespace fs = std::filesystem;
  if (!(std::filesystem::path(a.model).extension() == ".onnx")) throw UserError("'" + a.model + "' is not an .onnx file");
  if (fs::exists(a.out) && !fs::is_directory(a.out)) throw UserError("--out " + a.out + " is a file; give a directory");
  refuse_overwrite(a.out, a.force, "--out");
  if (a.mean.empty() != a.stddev.empty())
    throw UserError("--input-mean and --input-std go together (the model computes on (pixel/255 - mean) / std)");
  LoadedModel m = load_onnx_model(a.model, /*quiet=*/!a.mean.empty());
  if (!a.mean.empty()) {
    const int c = m.graph.input_shape().c;
    m.graph.normalization.mean = parse_channel_values(a.mean, "--input-mean", c, false);
    m.graph.normalization.stddev = parse_channel_values(a.stddev, "--input-std", c, true);
  }
  save_graph((fs::path(a.out) / "model.json").string(), m.graph);
  save_weights((fs::path(a.out) / "weights.bin").string(), m.weights);
  std::printf("imported %s: %zu nodes, %lld parameters, input %s, %d classes\n", a.model.c_str(),
              m.graph.nodes.size(), (long long)graph_params(m.graph), m.graph.input_shape().str().c_str(),
              m.graph.output_shape().c);
  std::printf("  wrote %s (model.json, weights.bin): use it with --model %s in every command\n", a.out.c_str(),
              a.out.c_str());
}

}  // namespace

void add_import_command(CLI::App& app) {
  auto a = std::make_shared<ImportArgs>();
  CLI::App* c = app.add_subcommand(
      "import",
      "Import a trained CNN from ONNX (as torch.onnx.export writes it, opsets 11 to 18) as a model\n"
      "directory. Every command also takes --model MODEL.onnx directly.\n\n"
      "Examples:\n"
      "  mcuprune import mobilenet.onnx --out runs/mnv2\n"
      "  mcuprune import net.onnx --input-mean 0.5 --input-std 0.5 --out runs/net\n"
      "  mcuprune profile --model mobilenet.onnx --board nucleo-f446re\n");
  c->add_option("model", a->model, "the .onnx file")->required();
  c->add_option("--out", a->out, "new model directory")->required();
  c->add_flag("--force", a->force, "write into an existing, non-empty --out (its model is replaced)");
  c->add_option("--input-mean", a->mean,
                "the input normalisation the model was trained with: x = (pixel/255 - mean) / std; one value "
                "or one per channel (e.g. 0.485,0.456,0.406). Without it, commands normalise with the "
                "dataset's own mean and std");
  c->add_option("--input-std", a->stddev, "the std of that normalisation (e.g. 0.229,0.224,0.225)");
  c->callback([a] { run_import(*a); });
}

}  // namespace mcuprune
