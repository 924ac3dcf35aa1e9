// Model JSON (model.json): parse, check, infer shapes; a model that loads must also profile,
// fold and quantise-plan without error (the resource model is total on valid graphs).
#include <nlohmann/json.hpp>

#include "fuzz_common.h"
#include "graph/graph_json.h"
#include "resources/board.h"
#include "resources/profile.h"

using namespace mcuprune;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::put("model.json", data, size);
  fuzz::expect_clear_error([&] {
    Graph g = load_graph(path);
    (void)graph_to_json(g).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (g.nodes.size() <= 64) profile_graph(g, find_board("nucleo-f446re"), ProfileOptions{});
  });
  return 0;
}
