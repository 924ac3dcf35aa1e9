// `mcuprune models`: the built-in zoo with defaults and sizes at common input shapes.
#include <CLI/CLI.hpp>

#include "cli/common.h"
#include "graph/graph_json.h"
#include "graph/zoo.h"

namespace mcuprune {

using nlohmann::json;

namespace {

struct ModelsArgs {
  bool json_out = false, force = false;
  std::string show, input, save;
  int classes = 10;
  double width = 0;
  int depth = 0;
};

void run_models(const ModelsArgs& a) {
  refuse_overwrite(a.save, a.force, "--save");
  if (!a.show.empty()) {
    ZooOptions o;
    if (!a.input.empty()) o.input = parse_shape(a.input, "--input");
    o.classes = a.classes;
    o.width = a.width;
    o.depth = a.depth;
    Graph g = zoo_build(a.show, o);
    if (!a.save.empty()) {
      save_graph(a.save, g);
      std::printf("architecture written to %s\n", a.save.c_str());
      return;
    }
    if (a.json_out) {
      std::printf("%s\n", graph_to_json(g).dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
      return;
    }
    std::printf("%s at %s, %d classes: %lld params (%lld with BatchNorm)\n", g.name.c_str(),
                g.input_shape().str().c_str(), g.output_shape().c, (long long)graph_params(g),
                (long long)graph_params_with_bn(g));
    std::printf("%-4s %-22s %-17s %-12s %10s\n", "#", "node", "op", "output", "params");
    for (size_t i = 0; i < g.nodes.size(); ++i)
      std::printf("%-4zu %-22s %-17s %-12s %10lld\n", i, g.nodes[i].name.c_str(),
                  op_kind_name(g.nodes[i].kind), g.nodes[i].out.str().c_str(),
                  (long long)(node_weight_params(g, int(i)) + node_bn_params(g, int(i))));
    return;
  }
  const Shape shapes[3] = {{28, 28, 1}, {32, 32, 3}, {49, 10, 1}};
  const int classes[3] = {10, 10, 12};
  json list = json::array();
  if (!a.json_out) {
    std::printf("Built-in models (parameters after BatchNorm folding at each input shape):\n\n");
    std::printf("%-12s %-7s %-6s %12s %12s %12s  %s\n", "name", "width", "depth", "28x28x1/10",
                "32x32x3/10", "49x10x1/12", "description");
  }
  for (const ZooEntry& e : zoo_entries()) {
    json item = {{"name", e.name}, {"description", e.description},
                 {"default_width", e.default_width}, {"default_depth", e.default_depth}};
    int64_t p[3];
    for (int k = 0; k < 3; ++k) {
      ZooOptions o;
      o.input = shapes[k];
      o.classes = classes[k];
      p[k] = graph_params(zoo_build(e.name, o));
      item["params"][shapes[k].str()] = p[k];
    }
    list.push_back(item);
    if (!a.json_out)
      std::printf("%-12s %-7g %-6s %12lld %12lld %12lld  %s\n", e.name.c_str(), e.default_width,
                  e.default_depth ? std::to_string(e.default_depth).c_str() : "-", (long long)p[0],
                  (long long)p[1], (long long)p[2], e.description.c_str());
  }
  if (a.json_out) std::printf("%s\n", list.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  else
    std::printf("\nEvery model takes --input HxWxC and --classes N; see 'mcuprune models --show NAME'.\n");
}

}  // namespace

void add_models_command(CLI::App& app) {
  auto args = std::make_shared<ModelsArgs>();
  CLI::App* c = app.add_subcommand(
      "models",
      "List the built-in models, or show one layer by layer.\n\n"
      "Examples:\n"
      "  mcuprune models\n"
      "  mcuprune models --show resnet8 --input 32x32x3\n"
      "  mcuprune models --show dscnn --input 49x10x1 --classes 12 --save dscnn.json\n");
  c->add_flag("--json", args->json_out, "machine-readable output");
  c->add_option("--show", args->show, "show one model's layers");
  c->add_option("--input", args->input, "input shape HxWxC for --show (default 28x28x1)");
  c->add_option("--classes", args->classes, "classes for --show")->capture_default_str();
  check_width(c->add_option("--width", args->width, "width multiplier for --show"));
  c->add_option("--depth", args->depth, "vgg depth for --show");
  c->add_option("--save", args->save, "with --show: write the architecture JSON to FILE");
  c->add_flag("--force", args->force, "replace an existing --save file");
  c->callback([args, c] {
    for (const char* o : {"--input", "--classes", "--width", "--depth", "--save"})
      refuse_without_effect(c, o, !args->show.empty(), "without --show MODEL (it shapes the model shown)");
    if (args->classes < 1) throw UserError("--classes must be at least 1, got " + std::to_string(args->classes));
    if (c->get_option("--depth")->count() > 0 && args->depth < 1)
      throw UserError("--depth must be 11, 13, 16 or 19 (vgg), got " + std::to_string(args->depth));
    run_models(*args);
  });
}

}  // namespace mcuprune
