// The JSON architecture format (docs/model-format.md): load/save with strict checking,
// so that a typo in a model file is reported with the node and key, not ignored.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "graph/graph.h"

namespace mcuprune {

nlohmann::json graph_to_json(const Graph& g);
// `where` names the source (a file path) in error messages.
Graph graph_from_json(const nlohmann::json& j, const std::string& where);

// Parses JSON text that a person may have edited (model and board files): a syntax error or
// a key given twice in one object is a UserError naming `where`.
nlohmann::json parse_json_text(const std::string& text, const std::string& where);

void save_graph(const std::string& path, const Graph& g);  // atomic
Graph load_graph(const std::string& path);

}  // namespace mcuprune
