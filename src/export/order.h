// The execution order an export stores: the order that minimises peak SRAM under the
// resource model (resources/memory.h), so a runtime that runs operators in file order
// (TFLite Micro does) has the peak `mcuprune profile` reports.
#pragma once

#include <vector>

#include "resources/profile.h"

namespace mcuprune {

// Node indices of the profiled graph (input excluded) in the profile's optimal order. A
// node the deployment view fused into an operator (a ReLU) follows that operator.
std::vector<int> deployment_order(const Profile& p);

// The same for a folded graph profiled on the board with default options.
std::vector<int> deployment_order(const Graph& folded, const Board& board);

}  // namespace mcuprune
