#include "export/order.h"

#include <algorithm>
#include <stdexcept>

namespace mcuprune {

std::vector<int> deployment_order(const Profile& p) {
  std::vector<int> order;
  for (int op : p.optimal.order) {
    if (is_pad_op(p.deployed, op)) continue;  // the exporter writes it right before its reader
    const DeployedOp& d = p.deployed.ops[size_t(op)];
    order.push_back(d.ir_node);
    std::vector<int> fused = d.fused;
    std::sort(fused.begin(), fused.end());
    order.insert(order.end(), fused.begin(), fused.end());
  }
  if (order.size() + 1 != p.graph->nodes.size())
    throw std::logic_error("deployment_order: the deployment view does not cover every node of the graph");
  return order;
}

std::vector<int> deployment_order(const Graph& folded, const Board& board) {
  return deployment_order(profile_graph(folded, board, ProfileOptions{}));
}

}  // namespace mcuprune
