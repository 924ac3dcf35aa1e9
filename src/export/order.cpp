#include "export/order.h"

#include "resources/profile.h"

namespace mcuprune {

std::vector<int> deployment_order(const Graph& folded, const Board& board) {
  Profile p = profile_graph(folded, board, ProfileOptions{});
  std::vector<int> order;
  for (int op : p.optimal.order) {
    const DeployedOp& d = p.deployed.ops[size_t(op)];
    order.push_back(d.ir_node);
  }
  // Nodes the deployment view does not run as operators of their own (none in a folded
  // graph, which has no BatchNorm, Dropout or fusable ReLU left) keep their graph position.
  std::vector<bool> seen(folded.nodes.size(), false);
  for (int n : order) seen[size_t(n)] = true;
  std::vector<int> rest;
  for (int i = 1; i < int(folded.nodes.size()); ++i)
    if (!seen[size_t(i)]) rest.push_back(i);
  if (!rest.empty()) {  // fall back to graph order, which is always valid
    order.clear();
    for (int i = 1; i < int(folded.nodes.size()); ++i) order.push_back(i);
  }
  return order;
}

}  // namespace mcuprune
