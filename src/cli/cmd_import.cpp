// `mcuprune import`: an ONNX CNN as an mcuprune model directory (model.json + weights.bin).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "cli/common.h"
#include "graph/graph_json.h"
#include "graph/io.h"
#include "resources/budget.h"

namespace mcuprune {

namespace {

struct ImportArgs {
  std::string model, out;
};

void run_import(const ImportArgs& a) {
  namespace fs = std::filesystem;
  if (!(std::filesystem::path(a.model).extension() == ".onnx")) throw UserError("'" + a.model + "' is not an .onnx file");
  if (fs::exists(a.out) && !(fs::is_directory(a.out) && fs::is_empty(a.out)))
    throw UserError("--out " + a.out + " already exists and is not an empty directory; choose a new directory");
  LoadedModel m = load_onnx_model(a.model);
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
      "  mcuprune profile --model mobilenet.onnx --board nucleo-f446re\n");
  c->add_option("model", a->model, "the .onnx file")->required();
  c->add_option("--out", a->out, "new model directory")->required();
  c->callback([a] { run_import(*a); });
}

}  // namespace mcuprune
