#include "export/layout.h"

#include <stdexcept>

namespace mcuprune {

bool is_flat_value(const Graph& g, int i) {
  const Node& n = g.nodes[size_t(i)];
  switch (n.kind) {
    case OpKind::Dense:
    case OpKind::Flatten:
      return true;
    case OpKind::Softmax:
    case OpKind::ReLU:
    case OpKind::ReLU6:
    case OpKind::Add:
    case OpKind::Dropout:
    case OpKind::BatchNorm:
      return is_flat_value(g, n.inputs[0]);
    default:
      return false;
  }
}

std::vector<int> checked_execution_order(const Graph& g, const std::vector<int>& order) {
  const int n = int(g.nodes.size());
  std::vector<int> r;
  if (order.empty()) {
    for (int i = 1; i < n; ++i) r.push_back(i);
    return r;
  }
  std::vector<bool> done(size_t(n), false);
  done[0] = true;
  for (int i : order) {
    if (i <= 0 || i >= n || done[size_t(i)])
      throw std::invalid_argument("export: the order is not a permutation of the graph's operators");
    for (int in : g.nodes[size_t(i)].inputs)
      if (!done[size_t(in)]) throw std::invalid_argument("export: the order runs an operator before its input");
    done[size_t(i)] = true;
  }
  if (int(order.size()) != n - 1)
    throw std::invalid_argument("export: the order is not a permutation of the graph's operators");
  return order;
}

}  // namespace mcuprune
