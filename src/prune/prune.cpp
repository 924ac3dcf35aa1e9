// The pruning loop. Layout of one step while pruning is active:
//   masks m_g = sigmoid((alpha_g * C_g - rank - 0.5) / tau) gate each group at its
//   consumers; loss = CE + lambda * sum_r penalty(R_r(c) / B_r) with c_g = sum(m_g) and R_r
//   the shared resource formulas (src/resources/formulas.h) over those soft widths;
//   weights and alphas take their own optimizer steps; lambda grows while a soft budget is
//   violated; salience is an EMA. Every prune_every steps channels ranked beyond
//   round(alpha_g * C_g) are removed by surgery (weights, optimizer state, salience and
//   alpha carried over), and pruning ends once the exact integer model meets every budget.
#include "prune/prune.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <torch/torch.h>

#include "graph/channel_groups.h"
#include "graph/graph_json.h"
#include "graph/io.h"
#include "nn/net.h"
#include "nn/progress.h"
#include "nn/soft_resources.h"
#include "nn/train_internal.h"

namespace mcuprune {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace detail;

json prune_config_to_json(const PruneConfig& c) {
  json b = json::object();
  if (c.budgets.ram_bytes) b["ram_bytes"] = *c.budgets.ram_bytes;
  if (c.budgets.flash_bytes) b["flash_bytes"] = *c.budgets.flash_bytes;
  if (c.budgets.macs) b["macs"] = *c.budgets.macs;
  if (c.budgets.latency_ms) b["latency_ms"] = *c.budgets.latency_ms;
  return {{"train", train_config_to_json(c.train)}, {"board", c.board}, {"budgets", b},
          {"minimize", c.minimize}, {"runtime", c.runtime}, {"inplace_add", c.inplace_add},
          {"warmup_epochs", c.warmup_epochs}, {"prune_every", c.prune_every},
          {"finetune_epochs", c.finetune_epochs}, {"importance", c.importance},
          {"round_to", c.round_to}, {"min_width", c.min_width}, {"alpha_lr", c.alpha_lr},
          {"temperature", c.temperature}, {"lambda_init", c.lambda_init},
          {"lambda_growth", c.lambda_growth}, {"salience_decay", c.salience_decay}};
}

PruneConfig prune_config_from_json(const json& j, const std::string& where) {
  PruneConfig c;
  try {
    c.train = train_config_from_json(j.at("train"), where);
    c.board = j.at("board");
    const json& b = j.at("budgets");
    if (b.contains("ram_bytes")) c.budgets.ram_bytes = b["ram_bytes"].get<int64_t>();
    if (b.contains("flash_bytes")) c.budgets.flash_bytes = b["flash_bytes"].get<int64_t>();
    if (b.contains("macs")) c.budgets.macs = b["macs"].get<int64_t>();
    if (b.contains("latency_ms")) c.budgets.latency_ms = b["latency_ms"].get<double>();
    c.minimize = j.at("minimize").get<std::vector<std::string>>();
    c.runtime = j.at("runtime");
    c.inplace_add = j.at("inplace_add");
    c.warmup_epochs = j.at("warmup_epochs");
    c.prune_every = j.at("prune_every");
    c.finetune_epochs = j.at("finetune_epochs");
    c.importance = j.at("importance");
    c.round_to = j.at("round_to");
    c.min_width = j.at("min_width");
    c.alpha_lr = j.at("alpha_lr");
    c.temperature = j.at("temperature");
    c.lambda_init = j.at("lambda_init");
    c.lambda_growth = j.at("lambda_growth");
    c.salience_decay = j.at("salience_decay");
  } catch (const json::exception& e) {
    throw UserError("'" + where + "': bad pruning configuration: " + e.what());
  }
  return c;
}

namespace {

const char* const kResources[] = {"ram", "flash", "macs", "latency"};

// Where the budgets come from and what coefficients the models use.
struct Target {
  Board board;
  std::string runtime;
  bool inplace_add = false;
  std::optional<double> budget[4];  // ram, flash, macs, latency
  bool minimize[4] = {false, false, false, false};
  bool any_budget() const { return budget[0] || budget[1] || budget[2] || budget[3]; }
};

Target resolve_target(const PruneConfig& c) {
  Target t;
  t.board = find_board(c.board.empty() ? "nucleo-f446re" : c.board);
  ProfileOptions po = profile_options(c);
  t.runtime = po.runtime.empty() ? t.board.runtime : po.runtime;
  find_runtime(t.runtime);
  t.inplace_add = c.inplace_add;
  const Budgets b = effective_budgets(t.board, po);
  if (b.ram_bytes) t.budget[0] = double(*b.ram_bytes);
  if (b.flash_bytes) t.budget[1] = double(*b.flash_bytes);
  if (b.macs) t.budget[2] = double(*b.macs);
  if (b.latency_ms) t.budget[3] = *b.latency_ms;
  for (const std::string& m : c.minimize) {
    int k = -1;
    for (int r = 0; r < 4; ++r)
      if (m == kResources[r]) k = r;
    if (k < 0) throw UserError("--minimize '" + m + "' is not one of: ram, flash, macs, latency");
    t.minimize[k] = true;
  }
  return t;
}

ExactResources exact_of(const Graph& g, const Target& t) {
  ProfileOptions o;
  o.optimal_order = true;
  o.inplace_add = t.inplace_add;
  o.runtime = t.runtime;
  o.board_budgets = false;  // the budgets are compared by meets(), not by the profile
  Profile p = profile_graph(g, t.board, o);
  ExactResources r;
  r.ram_bytes = p.ram_bytes();
  r.flash_bytes = p.flash_bytes;
  r.macs = p.macs;
  r.latency_ms = p.latency_ms;
  r.bottleneck = p.deployed.ops[p.used.order[p.used.bottleneck_step]].name;
  return r;
}

double value_of(const ExactResources& r, int k) {
  return k == 0 ? double(r.ram_bytes) : k == 1 ? double(r.flash_bytes) : k == 2 ? double(r.macs) : r.latency_ms;
}

std::string format_value(int k, double v) {
  char buf[64];
  if (k <= 1) return format_bytes(int64_t(v));
  if (k == 2) std::snprintf(buf, sizeof buf, "%.0f MACs", v);
  else std::snprintf(buf, sizeof buf, "%.3f ms", v);
  return buf;
}

bool meets(const ExactResources& r, const Target& t) {
  for (int k = 0; k < 4; ++k)
    if (t.budget[k] && value_of(r, k) > *t.budget[k]) return false;
  return true;
}

json resources_json(const ExactResources& r) {
  return {{"ram_bytes", r.ram_bytes}, {"flash_bytes", r.flash_bytes}, {"macs", r.macs},
          {"latency_ms", r.latency_ms}, {"bottleneck", r.bottleneck}};
}

// Widths of every prunable group set to `widths` (keeping the first channels): the
// architecture only, for resource checks.
Graph with_widths(Graph g, const std::vector<int>& widths, int min_width, int round_to) {
  ChannelGroups cg = find_channel_groups(g, min_width, round_to);
  for (size_t k = 0; k < cg.groups.size(); ++k) {
    if (!cg.groups[k].prunable || widths[k] >= cg.groups[k].channels) continue;
    std::vector<int> keep(size_t(widths[k]));
    for (int i = 0; i < widths[k]; ++i) keep[size_t(i)] = i;
    g = prune_group(g, cg, int(k), keep, nullptr);
    cg = find_channel_groups(g, min_width, round_to);
  }
  return g;
}

int round_width(double w, const ChannelGroup& grp, int round_to) {
  int t = int(std::lround(w));
  if (round_to > 1) t = int(std::lround(w / round_to)) * round_to;
  return std::clamp(t, grp.min_channels, grp.channels);
}

void validate(const PruneConfig& c) {
  validate_train_config(c.train);
  auto bad = [](const std::string& m) { throw UserError(m); };
  const std::vector<std::string> imp = {"taylor", "l1", "l2", "bn", "random"};
  if (std::find(imp.begin(), imp.end(), c.importance) == imp.end())
    bad("--importance must be one of taylor, l1, l2, bn, random; got '" + c.importance + "'");
  if (c.prune_every < 1) bad("--prune-every must be >= 1 step");
  if (c.warmup_epochs < 0 || c.warmup_epochs >= c.train.epochs)
    bad("--warmup-epochs must be in [0, epochs) (it is " + std::to_string(c.warmup_epochs) +
        " with " + std::to_string(c.train.epochs) + " epochs)");
  if (c.round_to < 1) bad("--round-to must be >= 1");
  if (c.min_width < 1) bad("--min-width must be >= 1");
  if (!(c.alpha_lr > 0) || !(c.temperature > 0) || !(c.lambda_init > 0) || c.lambda_growth < 0)
    bad("--alpha-lr, --temperature and --lambda must be > 0");
  if (!(c.salience_decay >= 0 && c.salience_decay < 1)) bad("salience decay must be in [0, 1)");
}

// ---- optimizer state carried across surgery ----

std::string ir_param_name(const Graph& g, const std::string& torch_name) {
  size_t dot = torch_name.rfind('.');
  std::string node = torch_name.substr(0, dot), p = torch_name.substr(dot + 1);
  int i = g.find(node);
  if (i >= 0 && g.nodes[size_t(i)].kind == OpKind::BatchNorm) p = p == "weight" ? "gamma" : "beta";
  return node + "." + p;
}

WeightTensor to_wt(const torch::Tensor& t) {
  torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
  WeightTensor w;
  w.shape.assign(c.sizes().begin(), c.sizes().end());
  w.data.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  return w;
}

torch::Tensor from_wt(const WeightTensor& w) {
  return torch::from_blob(const_cast<float*>(w.data.data()), w.shape, torch::kFloat).clone();
}

struct ParamState {
  int64_t step = 0;
  std::vector<WeightTensor> tensors;  // Adam: exp_avg, exp_avg_sq; SGD: momentum_buffer
};

std::map<std::string, ParamState> export_state(Net& net, torch::optim::Optimizer& opt, const Graph& g) {
  std::map<std::string, ParamState> r;
  auto& state = opt.state();
  for (const auto& item : net->named_parameters()) {
    auto it = state.find(c10::guts::to_string(item.value().unsafeGetTensorImpl()));
    if (it == state.end()) continue;
    ParamState ps;
    if (auto* a = dynamic_cast<torch::optim::AdamParamState*>(it->second.get())) {
      ps.step = a->step();
      ps.tensors = {to_wt(a->exp_avg()), to_wt(a->exp_avg_sq())};
    } else if (auto* s = dynamic_cast<torch::optim::SGDParamState*>(it->second.get())) {
      if (s->momentum_buffer().defined()) ps.tensors = {to_wt(s->momentum_buffer())};
    }
    r[ir_param_name(g, item.key())] = std::move(ps);
  }
  return r;
}

void import_state(Net& net, torch::optim::Optimizer& opt, const Graph& g,
                  const std::map<std::string, ParamState>& st, const std::string& kind) {
  auto& state = opt.state();
  for (const auto& item : net->named_parameters()) {
    auto it = st.find(ir_param_name(g, item.key()));
    if (it == st.end() || it->second.tensors.empty()) continue;
    std::string key = c10::guts::to_string(item.value().unsafeGetTensorImpl());
    if (kind == "adam") {
      auto a = std::make_unique<torch::optim::AdamParamState>();
      a->step(it->second.step);
      a->exp_avg(from_wt(it->second.tensors[0]));
      a->exp_avg_sq(from_wt(it->second.tensors[1]));
      state[key] = std::move(a);
    } else {
      auto s = std::make_unique<torch::optim::SGDParamState>();
      s->momentum_buffer(from_wt(it->second.tensors[0]));
      state[key] = std::move(s);
    }
  }
}

// ---- the differentiable resource model of the current architecture ----

struct SoftModel {
  std::shared_ptr<Graph> graph;
  DeployedGraph d;
  std::vector<int> order;       // exact optimal order of the current architecture
  std::vector<int> free_group;  // per free tensor: its prunable group, or -1
  std::vector<int64_t> free_exact;
};

SoftModel build_soft(const Graph& g, const ChannelGroups& cg, const Target& t) {
  SoftModel m;
  m.graph = std::make_shared<Graph>(g);
  m.d = deploy_view(*m.graph);
  const RuntimeProfile& rt = find_runtime(t.runtime);
  m.free_exact = exact_free_channels(m.d);
  auto ch = propagate_channels(m.d, m.free_exact);
  auto costs = graph_costs(m.d, ch, rt, t.board);
  std::vector<int64_t> scratch;
  for (const auto& c : costs.ops) scratch.push_back(c.scratch_bytes);
  m.order = schedule_optimal(m.d, costs.tensor_bytes, scratch, t.inplace_add).order;
  for (int tensor : free_channel_tensors(m.d)) {
    int producer = m.d.tensors[size_t(tensor)].producer;
    int grp = -1;
    if (producer >= 0) {
      int node = m.d.ops[size_t(producer)].ir_node;
      const ChannelLayout& l = cg.layout[size_t(node)];
      if (l.segments.size() == 1 && cg.groups[size_t(l.segments[0].group)].prunable)
        grp = l.segments[0].group;
    }
    m.free_group.push_back(grp);
  }
  return m;
}

// ram, flash, macs, latency as differentiable scalars of the soft widths.
std::vector<torch::Tensor> soft_resources(const SoftModel& m, const std::vector<torch::Tensor>& widths,
                                          const Target& t) {
  std::vector<torch::Tensor> free;
  for (size_t k = 0; k < m.free_group.size(); ++k)
    free.push_back(m.free_group[k] >= 0 ? widths[size_t(m.free_group[k])]
                                        : torch::tensor(double(m.free_exact[k]), torch::kDouble));
  const RuntimeProfile& rt = find_runtime(t.runtime);
  auto ch = propagate_channels(m.d, free);
  auto costs = graph_costs(m.d, ch, rt, t.board);
  std::vector<torch::Tensor> scratch;
  for (const auto& c : costs.ops) scratch.push_back(c.scratch_bytes);
  auto mem = order_memory(m.d, m.order, costs.tensor_bytes, scratch, t.inplace_add);
  return {mem.peak_bytes + costs.persistent_ram_bytes, costs.flash_bytes, costs.macs, costs.latency_ms};
}

// ---- pruning state ----

struct State {
  Graph graph;
  Net net{nullptr};
  std::unique_ptr<torch::optim::Optimizer> opt;
  ChannelGroups groups;
  SoftModel soft;
  torch::Tensor alpha;  // [groups], widths as a fraction of the current channel count
  std::unique_ptr<torch::optim::Adam> alpha_opt;
  std::vector<std::vector<float>> salience;  // per group, per channel
  std::vector<torch::Tensor> ranks;          // per prunable group: rank of each channel
  bool salience_seen = false;
  double lambda = 1;
  bool pruning_done = false;
  int64_t global_step = 0;
  double initial[4] = {0, 0, 0, 0};  // exact resources of the original model (for --minimize)
};

void rebuild_ranks(State& s) {
  s.ranks.assign(s.groups.groups.size(), torch::Tensor());
  for (const ChannelGroup& grp : s.groups.groups) {
    if (!grp.prunable) continue;
    const auto& sal = s.salience[size_t(grp.id)];
    std::vector<int> idx(size_t(grp.channels));
    for (int k = 0; k < grp.channels; ++k) idx[size_t(k)] = k;
    std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return sal[size_t(a)] > sal[size_t(b)]; });
    std::vector<float> rank(size_t(grp.channels));
    for (size_t r = 0; r < idx.size(); ++r) rank[size_t(idx[r])] = float(r);
    s.ranks[size_t(grp.id)] = torch::tensor(rank);
  }
}

// Weight-based salience (l1, l2, bn), computed from the current weights.
void weight_salience(State& s, const std::string& kind) {
  WeightMap w = s.net->weight_map();
  for (const ChannelGroup& grp : s.groups.groups) {
    if (!grp.prunable) continue;
    std::vector<float> v(size_t(grp.channels), 0.0f);
    for (int node : grp.members) {
      const Node& n = s.graph.nodes[size_t(node)];
      bool producer = n.kind == OpKind::Conv2D || n.kind == OpKind::Dense || n.kind == OpKind::DepthwiseConv2D;
      if (kind == "bn" ? n.kind != OpKind::BatchNorm : !producer) continue;
      const WeightTensor& t = w.at(n.name + (kind == "bn" ? ".gamma" : ".weight"));
      int64_t inner = t.numel() / t.shape[0];
      for (const ChannelSegment& seg : s.groups.layout[size_t(node)].segments) {
        if (seg.group != grp.id) continue;
        for (int k = 0; k < seg.count; ++k) {
          double acc = 0;
          for (int64_t e = 0; e < inner; ++e) {
            float x = t.data[size_t((seg.offset + k) * inner + e)];
            acc += kind == "l2" ? double(x) * x : std::fabs(x);
          }
          v[size_t(k)] += float(kind == "l2" ? std::sqrt(acc) : acc);
        }
      }
    }
    s.salience[size_t(grp.id)] = v;
  }
}

// Removes channels so that group g keeps targets[g] channels (highest salience first).
bool apply_targets(State& s, const std::vector<int>& targets, const PruneConfig& c, const Target& t) {
  bool any = false;
  for (const ChannelGroup& grp : s.groups.groups)
    any = any || (grp.prunable && targets[size_t(grp.id)] < grp.channels);
  if (!any) return false;
  WeightMap w = s.net->weight_map();
  auto st = export_state(s.net, *s.opt, s.graph);
  Graph g = s.graph;
  std::vector<float> alpha(s.alpha.data_ptr<float>(), s.alpha.data_ptr<float>() + s.alpha.numel());
  for (size_t k = 0; k < s.groups.groups.size(); ++k) {
    ChannelGroups cg = find_channel_groups(g, c.min_width, c.round_to);
    const ChannelGroup& grp = cg.groups[k];
    if (!grp.prunable || targets[k] >= grp.channels) continue;
    const auto& sal = s.salience[k];
    std::vector<int> idx(size_t(grp.channels));
    for (int i = 0; i < grp.channels; ++i) idx[size_t(i)] = i;
    std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return sal[size_t(a)] > sal[size_t(b)]; });
    std::vector<int> keep(idx.begin(), idx.begin() + targets[k]);
    std::sort(keep.begin(), keep.end());
    for (auto& [name, ps] : st)
      for (WeightTensor& tensor : ps.tensors) slice_like_parameter(g, cg, int(k), keep, name, tensor);
    g = prune_group(g, cg, int(k), keep, &w);
    std::vector<float> new_sal;
    for (int i : keep) new_sal.push_back(sal[size_t(i)]);
    s.salience[k] = new_sal;
    alpha[k] = std::min(1.0f, alpha[k] * float(grp.channels) / float(targets[k]));
  }
  s.graph = g;
  s.net = Net(g);
  s.net->load_weight_map(w, "pruned weights");
  s.net->train();
  s.opt = make_optimizer(c.train, s.net);
  import_state(s.net, *s.opt, g, st, c.train.optimizer);
  {
    torch::NoGradGuard ng;
    s.alpha.copy_(torch::tensor(alpha));
  }
  s.groups = find_channel_groups(g, c.min_width, c.round_to);
  s.soft = build_soft(g, s.groups, t);
  rebuild_ranks(s);
  return true;
}

// Shrinks every prunable group by one common factor (largest that meets the budgets).
void force_fit(State& s, const PruneConfig& c, const Target& t) {
  auto widths_for = [&](double f) {
    std::vector<int> w;
    for (const ChannelGroup& grp : s.groups.groups)
      w.push_back(grp.prunable ? round_width(f * grp.channels, grp, c.round_to) : grp.channels);
    return w;
  };
  double lo = 0, hi = 1;
  for (int it = 0; it < 24; ++it) {
    double mid = (lo + hi) / 2;
    if (meets(exact_of(with_widths(s.graph, widths_for(mid), c.min_width, c.round_to), t), t)) lo = mid;
    else hi = mid;
  }
  apply_targets(s, widths_for(lo), c, t);
}

std::string ckpt_dir(const std::string& out) { return (fs::path(out) / "checkpoint").string(); }

void save_state(const std::string& out, State& s, const Graph& original, const PruneConfig& c,
                int epochs_completed, bool interrupted, const std::vector<PruneEpoch>& hist) {
  const std::string dir = ckpt_dir(out);
  const std::string tag = "e" + std::to_string(epochs_completed) + (interrupted ? "i" : "");
  const std::string wfile = "weights-" + tag + ".bin", ofile = "optimizer-" + tag + ".pt",
                    afile = "alpha-optimizer-" + tag + ".pt";
  save_graph((fs::path(dir) / "model.json").string(), s.graph);
  save_graph((fs::path(dir) / "original.json").string(), original);
  save_weights((fs::path(dir) / wfile).string(), s.net->weight_map());
  std::ostringstream os, as;
  torch::save(*s.opt, os);
  write_file_atomic((fs::path(dir) / ofile).string(), os.str());
  torch::save(*s.alpha_opt, as);
  write_file_atomic((fs::path(dir) / afile).string(), as.str());
  json h = json::array();
  for (const auto& e : hist) h.push_back(prune_epoch_to_json(e));
  std::vector<float> alpha(s.alpha.data_ptr<float>(), s.alpha.data_ptr<float>() + s.alpha.numel());
  json state = {{"format", "mcuprune-prune-checkpoint"}, {"version", 1},
                {"epochs_completed", epochs_completed}, {"interrupted", interrupted},
                {"weights", wfile}, {"optimizer", ofile}, {"alpha_optimizer", afile},
                {"alpha", alpha}, {"salience", s.salience}, {"salience_seen", s.salience_seen},
                {"lambda", s.lambda}, {"pruning_done", s.pruning_done},
                {"global_step", s.global_step}, {"initial", s.initial},
                {"config", prune_config_to_json(c)}, {"history", h}};
  write_file_atomic((fs::path(dir) / "prune_state.json").string(), state.dump() + "\n");
  remove_stale_checkpoint_files(dir, {wfile, ofile, afile});
}

json read_state_json(const std::string& out) {
  std::string path = (fs::path(ckpt_dir(out)) / "prune_state.json").string();
  if (!fs::exists(path))
    throw UserError("no pruning checkpoint to resume in '" + out + "' (missing " + path +
                    "); start a new run without --resume");
  try {
    json j = json::parse(read_file(path));
    if (j.value("format", "") != "mcuprune-prune-checkpoint") throw UserError("'" + path + "' is not a pruning checkpoint");
    return j;
  } catch (const json::parse_error& e) {
    throw UserError("pruning checkpoint '" + path + "' is corrupt: " + e.what());
  }
}

PruneEpoch epoch_from_json(const json& e) {
  PruneEpoch p;
  p.epoch = e.at("epoch");
  p.train_loss = e.at("train_loss");
  p.train_accuracy = e.at("train_accuracy");
  p.val_loss = e.at("val_loss");
  p.val_accuracy = e.at("val_accuracy");
  p.lambda = e.at("lambda");
  p.seconds = e.at("seconds");
  p.channels = e.at("channels");
  p.pruning_done = e.at("pruning_done");
  const json& r = e.at("resources");
  p.resources.ram_bytes = r.at("ram_bytes");
  p.resources.flash_bytes = r.at("flash_bytes");
  p.resources.macs = r.at("macs");
  p.resources.latency_ms = r.at("latency_ms");
  p.resources.bottleneck = r.at("bottleneck");
  return p;
}

int64_t prunable_channels(const ChannelGroups& cg) {
  int64_t n = 0;
  for (const auto& g : cg.groups)
    if (g.prunable) n += g.channels;
  return n;
}

}  // namespace

json prune_epoch_to_json(const PruneEpoch& e) {
  return {{"epoch", e.epoch}, {"train_loss", e.train_loss}, {"train_accuracy", e.train_accuracy},
          {"val_loss", e.val_loss}, {"val_accuracy", e.val_accuracy}, {"lambda", e.lambda},
          {"seconds", e.seconds}, {"channels", e.channels}, {"pruning_done", e.pruning_done},
          {"resources", resources_json(e.resources)}};
}

ProfileOptions profile_options(const PruneConfig& c) {
  ProfileOptions o;
  o.inplace_add = c.inplace_add;
  o.runtime = c.runtime;
  o.budgets = c.budgets;
  o.board_budgets = !c.board.empty();  // without a board only explicit budgets apply
  return o;
}

PruneConfig read_prune_config(const std::string& out_dir) {
  json j = read_state_json(out_dir);
  return prune_config_from_json(j.at("config"), ckpt_dir(out_dir));
}

void check_prune_feasible(const Graph& g, const PruneConfig& cfg) {
  validate(cfg);
  Target t = resolve_target(cfg);
  bool any = false;
  for (int k = 0; k < 4; ++k) any = any || t.budget[k] || t.minimize[k];
  if (!any)
    throw UserError("nothing to prune for: give --board NAME or a budget (--ram, --flash, --macs, "
                    "--latency-ms) or --minimize RESOURCE");
  ChannelGroups cg = find_channel_groups(g, cfg.min_width, cfg.round_to);
  if (cg.prunable_count() == 0)
    throw UserError("model '" + g.name + "' has no prunable channel group");
  std::vector<int> mins;
  for (const auto& grp : cg.groups) mins.push_back(grp.prunable ? grp.min_channels : grp.channels);
  ExactResources r = exact_of(with_widths(g, mins, cfg.min_width, cfg.round_to), t);
  for (int k = 0; k < 4; ++k)
    if (t.budget[k] && value_of(r, k) > *t.budget[k])
      throw UserError(std::string("the ") + kResources[k] + " budget of " + format_value(k, *t.budget[k]) +
                      " cannot be met: even with every prunable group at its minimum width the model needs " +
                      format_value(k, value_of(r, k)) +
                      (k == 0 ? " (bottleneck operator: " + r.bottleneck + ")" : std::string()) +
                      "; raise the budget, lower --min-width, or choose a smaller model");
}

PruneResult prune_model(const Graph& g_in, const WeightMap* init, const DatasetSplits& data,
                        const PruneConfig& cfg_in, const std::string& out_dir, bool resume,
                        const OutputOptions& out) {
  PruneConfig cfg = cfg_in;
  validate(cfg);
  set_threads(cfg.train.threads);
  check_data_fits(g_in, data.train);
  Target target = resolve_target(cfg);
  Graph original = g_in;
  if (original.normalization.empty()) original.normalization = normalization_of(original, data.train);
  if (original.class_names.empty()) original.class_names = data.train.class_names;

  torch::manual_seed(cfg.train.seed);
  State s;
  PruneResult result;
  int start_epoch = 0;
  if (resume) {
    json j = read_state_json(out_dir);
    const std::string dir = ckpt_dir(out_dir);
    original = load_graph((fs::path(dir) / "original.json").string());
    s.graph = load_graph((fs::path(dir) / "model.json").string());
    s.net = Net(s.graph);
    s.net->load_weight_map(load_weights((fs::path(dir) / j.at("weights").get<std::string>()).string()), dir);
    s.opt = make_optimizer(cfg.train, s.net);
    torch::load(*s.opt, (fs::path(dir) / j.at("optimizer").get<std::string>()).string());
    s.alpha = torch::tensor(j.at("alpha").get<std::vector<float>>()).requires_grad_(true);
    s.alpha_opt = std::make_unique<torch::optim::Adam>(std::vector<torch::Tensor>{s.alpha},
                                                       torch::optim::AdamOptions(cfg.alpha_lr));
    torch::load(*s.alpha_opt, (fs::path(dir) / j.at("alpha_optimizer").get<std::string>()).string());
    s.salience = j.at("salience").get<std::vector<std::vector<float>>>();
    s.salience_seen = j.at("salience_seen");
    s.lambda = j.at("lambda");
    s.pruning_done = j.at("pruning_done");
    s.global_step = j.at("global_step");
    auto init_r = j.at("initial").get<std::vector<double>>();
    for (int k = 0; k < 4; ++k) s.initial[k] = init_r.at(size_t(k));
    start_epoch = j.at("epochs_completed");
    for (const auto& e : j.at("history")) result.history.push_back(epoch_from_json(e));
  } else {
    check_prune_feasible(original, cfg);
    s.graph = original;
    s.net = Net(s.graph);
    if (init) s.net->load_weight_map(*init, "initial weights");
    s.opt = make_optimizer(cfg.train, s.net);
    s.lambda = cfg.lambda_init;
  }
  s.groups = find_channel_groups(s.graph, cfg.min_width, cfg.round_to);
  s.soft = build_soft(s.graph, s.groups, target);
  if (!resume) {
    s.alpha = torch::ones({int64_t(s.groups.groups.size())}).requires_grad_(true);
    s.alpha_opt = std::make_unique<torch::optim::Adam>(std::vector<torch::Tensor>{s.alpha},
                                                       torch::optim::AdamOptions(cfg.alpha_lr));
    s.salience.resize(s.groups.groups.size());
    std::mt19937_64 rng(cfg.train.seed * 31 + 7);
    for (const auto& grp : s.groups.groups) {
      s.salience[size_t(grp.id)].assign(size_t(grp.channels), 0.0f);
      if (cfg.importance == "random")
        for (float& v : s.salience[size_t(grp.id)]) v = float(rng() % 1000000) / 1e6f;
    }
    ExactResources r0 = exact_of(original, target);
    for (int k = 0; k < 4; ++k) s.initial[k] = value_of(r0, k);
  }
  rebuild_ranks(s);

  std::ofstream log;
  if (!out.log_json.empty()) {
    log.open(out.log_json, std::ios::app);
    if (!log) throw UserError("cannot open log file '" + out.log_json + "' for writing");
  }
  const int finetune = cfg.finetune_epochs >= 0 ? cfg.finetune_epochs : std::max(1, cfg.train.epochs / 4);
  const int prune_end = std::max(cfg.warmup_epochs + 1, cfg.train.epochs - finetune);
  const Dataset& train = data.train;
  const size_t bs = size_t(cfg.train.batch_size);
  const int64_t steps_per_epoch = int64_t((train.size() + bs - 1) / bs);
  const bool weight_based = cfg.importance == "l1" || cfg.importance == "l2" || cfg.importance == "bn";
  auto t0 = std::chrono::steady_clock::now();
  result.epochs_completed = start_epoch;

  for (int epoch = start_epoch; epoch < cfg.train.epochs; ++epoch) {
    s.net->train();
    std::vector<size_t> order = permutation(train.size(), cfg.train.seed * 1000003ULL + uint64_t(epoch));
    std::mt19937_64 aug_rng(cfg.train.seed * 7919ULL + uint64_t(epoch));
    EpochProgress bar(epoch + 1, cfg.train.epochs, int64_t(train.size()), out.quiet);
    double loss_sum = 0;
    int64_t correct = 0, seen = 0;
    std::vector<torch::Tensor> masks;
    for (int64_t step = 0; step < steps_per_epoch; ++step) {
      if (g_stop_requested) break;
      size_t b = size_t(step) * bs, e = std::min(train.size(), b + bs);
      if (e - b < 2) break;
      set_lr(*s.opt, lr_at(cfg.train, epoch, step, steps_per_epoch));
      auto [x, y] = make_batch(train, order, b, e, original.normalization, &cfg.train.augmentation, &aug_rng);
      const bool active = !s.pruning_done && epoch >= cfg.warmup_epochs;
      const bool taylor = !s.pruning_done && cfg.importance == "taylor";
      masks.assign(s.groups.groups.size(), torch::Tensor());
      if (active || taylor) {
        for (const ChannelGroup& grp : s.groups.groups) {
          if (!grp.prunable) continue;
          torch::Tensor m;
          if (active) {
            m = torch::sigmoid((s.alpha[grp.id] * float(grp.channels) - s.ranks[size_t(grp.id)] - 0.5f) /
                               float(cfg.temperature));
            m.retain_grad();
          } else {
            m = torch::ones({grp.channels}).requires_grad_(true);
          }
          masks[size_t(grp.id)] = m;
        }
        s.net->set_gates(s.groups, masks);
      } else {
        s.net->clear_gates();
      }
      torch::Tensor logits = s.net->forward(x, true);
      torch::Tensor loss = torch::nn::functional::cross_entropy(logits, y);
      std::vector<torch::Tensor> soft_r;
      if (active) {
        std::vector<torch::Tensor> widths(s.groups.groups.size());
        for (const ChannelGroup& grp : s.groups.groups)
          if (grp.prunable) widths[size_t(grp.id)] = masks[size_t(grp.id)].sum().to(torch::kDouble);
        soft_r = soft_resources(s.soft, widths, target);
        torch::Tensor pen = torch::zeros({}, torch::kDouble);
        for (int k = 0; k < 4; ++k) {
          if (target.budget[k]) pen = pen + torch::relu(soft_r[size_t(k)] / *target.budget[k] - 1.0).pow(2);
          else if (target.minimize[k] && s.initial[k] > 0) pen = pen + torch::log(soft_r[size_t(k)] / s.initial[k]);
        }
        loss = loss + (pen * s.lambda).to(torch::kFloat);
      }
      s.opt->zero_grad();
      s.alpha_opt->zero_grad();
      loss.backward();
      s.opt->step();
      if (active) {
        s.alpha_opt->step();
        torch::NoGradGuard ng;
        for (const ChannelGroup& grp : s.groups.groups)
          if (grp.prunable)
            s.alpha[grp.id].clamp_(float(grp.min_channels) / float(grp.channels), 1.0f);
        bool violated = false;
        for (int k = 0; k < 4; ++k)
          violated = violated || (target.budget[k] && soft_r[size_t(k)].item<double>() > *target.budget[k]);
        if (violated) s.lambda = std::min(1e8, s.lambda * (1 + cfg.lambda_growth));
      }
      if (taylor) {
        const float d = s.salience_seen ? float(cfg.salience_decay) : 0.0f;
        for (const ChannelGroup& grp : s.groups.groups) {
          if (!grp.prunable || !masks[size_t(grp.id)].grad().defined()) continue;
          torch::Tensor v = (masks[size_t(grp.id)].detach() * masks[size_t(grp.id)].grad()).abs();
          auto& sal = s.salience[size_t(grp.id)];
          const float* pv = v.data_ptr<float>();
          for (size_t k = 0; k < sal.size(); ++k) sal[k] = d * sal[k] + (1 - d) * pv[k];
        }
        s.salience_seen = true;
      }
      int64_t n = int64_t(e - b);
      loss_sum += loss.item<double>() * n;
      correct += logits.argmax(1).eq(y).sum().item<int64_t>();
      seen += n;
      ++s.global_step;
      bar.update(seen, loss_sum / seen, double(correct) / seen);
      if (!s.pruning_done && s.global_step % cfg.prune_every == 0) {
        if (weight_based) weight_salience(s, cfg.importance);
        rebuild_ranks(s);
        if (active) {
          std::vector<int> targets;
          for (const ChannelGroup& grp : s.groups.groups)
            targets.push_back(grp.prunable ? round_width(s.alpha[grp.id].item<float>() * grp.channels, grp, cfg.round_to)
                                           : grp.channels);
          if (apply_targets(s, targets, cfg, target)) masks.clear();  // sized for the old net
          // With budgets, pruning ends once they hold; --minimize alone prunes for the
          // whole pruning phase.
          if (target.any_budget() && meets(exact_of(s.graph, target), target)) {
            s.pruning_done = true;
            s.net->clear_gates();
          }
        }
      }
    }
    if (g_stop_requested) {
      s.net->clear_gates();
      save_state(out_dir, s, original, cfg, epoch, true, result.history);
      bar.finish("interrupted in epoch " + std::to_string(epoch + 1) + "; checkpoint saved to " +
                 ckpt_dir(out_dir) + "; continue with --resume " + out_dir);
      result.interrupted = true;
      break;
    }
    // At the end of the pruning phase the budgets must hold: shrink uniformly if needed.
    if (!s.pruning_done && epoch + 1 >= prune_end) {
      if (target.any_budget() && !meets(exact_of(s.graph, target), target)) force_fit(s, cfg, target);
      s.pruning_done = true;
    }
    if (s.pruning_done) s.net->clear_gates();
    else if (!masks.empty()) {
      std::vector<torch::Tensor> detached;
      for (auto& m : masks) detached.push_back(m.defined() ? m.detach() : m);
      s.net->set_gates(s.groups, detached);
    }
    PruneEpoch pe;
    pe.epoch = epoch + 1;
    pe.seconds = bar.elapsed_seconds();
    pe.train_loss = seen ? loss_sum / seen : 0;
    pe.train_accuracy = seen ? double(correct) / seen : 0;
    if (data.val.size()) {
      EvalResult v = evaluate_net(s.net, data.val, original.normalization, 256);
      pe.val_loss = v.loss;
      pe.val_accuracy = v.accuracy;
    }
    s.net->clear_gates();
    pe.lambda = s.lambda;
    pe.channels = prunable_channels(s.groups);
    pe.pruning_done = s.pruning_done;
    pe.resources = exact_of(s.graph, target);
    result.history.push_back(pe);
    result.epochs_completed = epoch + 1;
    save_state(out_dir, s, original, cfg, epoch + 1, false, result.history);
    std::string line = "epoch " + std::to_string(pe.epoch) + "/" + std::to_string(cfg.train.epochs);
    char buf[256];
    std::snprintf(buf, sizeof buf, "  loss %.4f  acc %.4f  val_acc %.4f  lambda %.3g  channels %lld", pe.train_loss,
                  pe.train_accuracy, pe.val_accuracy, pe.lambda, (long long)pe.channels);
    line += buf;
    for (int k = 0; k < 4; ++k)
      if (target.budget[k])
        line += std::string("  ") + kResources[k] + " " + format_value(k, value_of(pe.resources, k)) + "/" +
                format_value(k, *target.budget[k]);
    line += s.pruning_done ? "  [fine-tuning]" : epoch < cfg.warmup_epochs ? "  [warm-up]" : "  [pruning]";
    bar.finish(line);
    if (log) log << prune_epoch_to_json(pe).dump() << "\n" << std::flush;
  }
  result.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  s.net->clear_gates();
  result.graph = s.graph;
  result.graph.normalization = original.normalization;
  result.graph.class_names = original.class_names;
  result.weights = s.net->weight_map();
  result.budgets_met = meets(exact_of(s.graph, target), target);
  return result;
}

}  // namespace mcuprune
