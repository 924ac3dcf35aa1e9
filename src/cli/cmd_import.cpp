// `mcuprune import`: an ONNX CNN as an mcuprune model directory (model.json + weights.bin).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "cli/common.h"
#include "cli/parse.h"
#include "graph/graph_json.h"
#include "graph/io.h"
#include "resources/budget.h"

namespace mcuprune {

namespace {

struct ImportArgs {
  std::string model, out;
  std::optional<std::string> mean, stddev;  // given (possibly empty) or not
  bool force = false;
};

void run_import(const ImportArgs& a) {
  namespace fs = std::filesystem;
  if (!(std::filesystem::path(a.model).extension() == ".onnx")) throw UserError("'" + a.model + "' is not an .onnx file");
  if (a.mean.has_value() != a.stddev.has_value())
    throw UserError(std::string(a.mean ? "--input-mean is given without --input-std" : "--input-std is given without --input-mean") +
                    "; they go together (the model computes on (pixel/255 - mean) / std)");
  std::unique_ptr<OutputDir> dir = open_new_model_dir(a.out, "import", a.force, "");
  LoadedModel m = load_onnx_model(a.model, /*quiet=*/a.mean.has_value());
  if (a.mean) {
    const int c = m.graph.input_shape().c;
    m.graph.normalization.mean = parse_channel_values(*a.mean, "--input-mean", c, false);
    m.graph.normalization.stddev = parse_channel_values(*a.stddev, "--input-std", c, true);
  }
  const std::string work = dir->work_path();
  save_graph((fs::path(work) / "model.json").string(), m.graph);
  save_weights((fs::path(work) / "weights.bin").string(), m.weights);
  dir->commit();
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
  c->add_flag("--force", a->force, "replace an existing model directory --out (all of it)");
  c->add_option_function<std::string>("--input-mean", [a](const std::string& v) { a->mean = v; },
                "the input normalisation the model was trained with: x = (pixel/255 - mean) / std; one value "
                "or one per channel (e.g. 0.485,0.456,0.406). Without it, commands normalise with the "
                "dataset's own mean and std");
  c->add_option_function<std::string>("--input-std", [a](const std::string& v) { a->stddev = v; }, "the std of that normalisation (e.g. 0.229,0.224,0.225)");
  c->callback([a] { run_import(*a); });
}

}  // namespace mcuprune
