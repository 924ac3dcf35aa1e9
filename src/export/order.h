// The execution order an export stores: the order that minimises peak SRAM under the
// resource model (resources/memory.h), so a runtime that runs operators in file order
// (TFLite Micro does) has the peak `mcuprune profile` reports.
#pragma once

#include <vector>

#include "graph/graph.h"
#include "resources/board.h"

namespace mcuprune {

// Node indices of a folded (BN-free, ReLU-fused) graph, input excluded, in the optimal
// order for the board's runtime (scratch buffers depend on it).
std::vector<int> deployment_order(const Graph& folded, const Board& board);

}  // namespace mcuprune
