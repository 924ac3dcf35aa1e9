// Facts about a folded graph that every exporter needs.
#pragma once

#include <vector>

#include "graph/graph.h"

namespace mcuprune {

// Whether node i's value is a flat vector (after a dense or flatten, or an element-wise
// op on one) rather than a spatial map; exporters give it a rank-2 [1, N] tensor.
bool is_flat_value(const Graph& g, int i);

// `order` checked as an execution order of g's operators (every node but the input once,
// each after its inputs); an empty order means graph order. Throws std::invalid_argument.
std::vector<int> checked_execution_order(const Graph& g, const std::vector<int>& order);

}  // namespace mcuprune
