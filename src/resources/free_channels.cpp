// Free channel variables of the resource formulas.
#include "resources/formulas.h"

namespace mcuprune {

std::vector<int> free_channel_tensors(const DeployedGraph& d) {
  std::vector<int> r = {d.input_tensor};
  for (const DeployedOp& op : d.ops)
    if (op.kind == DeployedKind::Conv2D || op.kind == DeployedKind::FullyConnected)
      r.push_back(op.output);
  return r;
}

std::vector<int64_t> exact_free_channels(const DeployedGraph& d) {
  std::vector<int64_t> r;
  for (int t : free_channel_tensors(d)) r.push_back(d.tensors[t].shape.c);
  return r;
}

}  // namespace mcuprune
