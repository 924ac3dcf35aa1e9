// Physical removal of channels during training: the graph and weights are cut by
// prune_group, and the optimizer's per-parameter state (Adam moments, SGD momentum) is cut
// the same way, so training continues as if those channels had never existed.
#include <algorithm>
#include <cmath>
#include <sstream>
#include <type_traits>

#include "nn/dist_ops.h"
#include "nn/train_internal.h"
#include "prune/internal.h"

namespace mcuprune::prune_detail {

namespace {

// The optimizer's key for a parameter's state: LibTorch 1.13 keys it by the text of the
// parameter's TensorImpl address, LibTorch 2.x by the address itself.
template <class Key>
Key state_key_of(const torch::Tensor& p) {
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream os;
    os << static_cast<const void*>(p.unsafeGetTensorImpl());
    return os.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}
using StateMap = std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state())>;
StateMap::key_type state_key(const torch::Tensor& p) { return state_key_of<StateMap::key_type>(p); }

struct ParamState {
  int64_t step = 0;
  std::vector<WeightTensor> tensors;  // Adam: exp_avg, exp_avg_sq; SGD: momentum_buffer
};

std::map<std::string, ParamState> export_state(Net& net, torch::optim::Optimizer& opt, const Graph& g) {
  std::map<std::string, ParamState> r;
  auto& state = opt.state();
  for (const auto& item : net->named_parameters()) {
    auto it = state.find(state_key(item.value()));
    if (it == state.end()) continue;
    ParamState ps;
    const std::string name = ir_param_name(g, item.key());
    if (auto* a = dynamic_cast<torch::optim::AdamParamState*>(it->second.get())) {
      ps.step = a->step();
      ps.tensors = {net->to_exact(name, a->exp_avg()), net->to_exact(name, a->exp_avg_sq())};
    } else if (auto* s = dynamic_cast<torch::optim::SGDParamState*>(it->second.get())) {
      if (s->momentum_buffer().defined()) ps.tensors = {net->to_exact(name, s->momentum_buffer())};
    }
    r[name] = std::move(ps);
  }
  return r;
}

void import_state(Net& net, torch::optim::Optimizer& opt, const Graph& g,
                  const std::map<std::string, ParamState>& st, const std::string& kind) {
  auto& state = opt.state();
  for (const auto& item : net->named_parameters()) {
    const std::string name = ir_param_name(g, item.key());
    auto it = st.find(name);
    if (it == st.end() || it->second.tensors.empty()) continue;
    const auto key = state_key(item.value());
    if (kind == "adam") {
      auto a = std::make_unique<torch::optim::AdamParamState>();
      a->step(it->second.step);
      a->exp_avg(net->to_padded(name, it->second.tensors[0]).to(item.value().device()));
      a->exp_avg_sq(net->to_padded(name, it->second.tensors[1]).to(item.value().device()));
      state[key] = std::move(a);
    } else {
      auto s = std::make_unique<torch::optim::SGDParamState>();
      s->momentum_buffer(net->to_padded(name, it->second.tensors[0]).to(item.value().device()));
      state[key] = std::move(s);
    }
  }
}

// Data-parallel runs: rank 0's widths and channel scores in every worker, so that every worker
// cuts the same channels whatever rounding told them apart. Every worker calls remove_channels
// at the same steps (the methods call it at points set by the step count and the architecture).
void adopt_rank0_decision(State& s, std::vector<int>& targets) {
  if (!dist().active()) return;
  std::vector<int64_t> t(targets.begin(), targets.end());
  std::vector<float> flat{0.0f};  // never empty
  for (const auto& g : s.salience) flat.insert(flat.end(), g.begin(), g.end());
  std::vector<torch::Tensor> tensors{torch::tensor(t, torch::kLong), torch::tensor(flat, torch::kFloat)};
  dist_broadcast_(tensors);
  for (size_t k = 0; k < targets.size(); ++k) targets[k] = int(tensors[0][int64_t(k)].item<int64_t>());
  const float* p = tensors[1].data_ptr<float>() + 1;
  for (auto& g : s.salience)
    for (float& v : g) v = *p++;
}

}  // namespace

bool remove_channels(State& s, const std::vector<int>& targets_in, const PruneConfig& c, const GroupCut& on_group) {
  std::vector<int> targets = targets_in;
  adopt_rank0_decision(s, targets);
  bool any = false;
  for (const ChannelGroup& grp : s.groups.groups) any = any || (grp.prunable && targets[size_t(grp.id)] < grp.channels);
  if (!any) return false;
  WeightMap w = s.net->weight_map();
  auto st = export_state(s.net, *s.opt, s.graph);
  Graph g = s.graph;
  for (size_t k = 0; k < s.groups.groups.size(); ++k) {
    ChannelGroups cg = groups_of(g, c);
    const ChannelGroup& grp = cg.groups[k];
    if (!grp.prunable || targets[k] >= grp.channels) continue;
    std::vector<int> keep = keep_by_score(s.salience[k], targets[k]);
    for (auto& [name, ps] : st)
      for (WeightTensor& tensor : ps.tensors) slice_like_parameter(g, cg, int(k), keep, name, tensor);
    g = prune_group(g, cg, int(k), keep, &w);
    if (on_group) on_group(int(k), grp.channels, keep);
    std::vector<float> new_sal;
    for (int i : keep) new_sal.push_back(s.salience[k][size_t(i)]);
    s.salience[k] = new_sal;
  }
  s.graph = g;
  s.net = Net(g, c.pad_channels);
  s.net->load_weight_map(w, "pruned weights");
  s.net->train();
  s.opt = detail::make_optimizer(c.train, s.net);
  import_state(s.net, *s.opt, g, st, c.train.optimizer);
  s.groups = groups_of(g, c);
  if (surgery_observer()) surgery_observer()(s);
  return true;
}

std::function<void(const State&)>& surgery_observer() {
  static std::function<void(const State&)> observer;
  return observer;
}

}  // namespace mcuprune::prune_detail
