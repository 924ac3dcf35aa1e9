// Pruning checkpoints: out/checkpoint/ holds the current and original architectures, the
// weights and optimizer state of the last completed (or interrupted) epoch, and
// prune_state.json, written last, which names those files and holds the loop's and the
// method's state, the fallbacks and the history.
#include <filesystem>
#include <sstream>

#include "graph/graph_json.h"
#include "graph/io.h"
#include "nn/train_internal.h"
#include "prune/internal.h"

namespace mcuprune {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace detail;
using namespace prune_detail;

namespace prune_detail {

std::string ckpt_dir(const std::string& out) { return (fs::path(out) / "checkpoint").string(); }

void save_state(const std::string& out, State& s, Method& m, const Graph& original, const PruneConfig& c,
                int epochs_completed, bool interrupted, const std::vector<PruneEpoch>& hist) {
  const std::string dir = ckpt_dir(out);
  const std::string tag = "e" + std::to_string(epochs_completed) + (interrupted ? "i" : "");
  const std::string wfile = "weights-" + tag + ".bin", ofile = "optimizer-" + tag + ".pt";
  save_graph((fs::path(dir) / "model.json").string(), s.graph);
  save_graph((fs::path(dir) / "original.json").string(), original);
  save_weights((fs::path(dir) / wfile).string(), s.net->weight_map());
  std::ostringstream os;
  torch::save(*s.opt, os);
  write_file_atomic((fs::path(dir) / ofile).string(), os.str());
  json method_state = m.save();
  json h = json::array(), fb = json::array();
  for (const auto& e : hist) h.push_back(prune_epoch_to_json(e));
  for (const auto& f : s.fallbacks) fb.push_back(fallback_to_json(f));
  json state = {{"format", "mcuprune-prune-checkpoint"}, {"version", 2},
                {"epochs_completed", epochs_completed}, {"interrupted", interrupted},
                {"weights", wfile}, {"optimizer", ofile}, {"salience", s.salience},
                {"pruning_done", s.pruning_done}, {"global_step", s.global_step}, {"initial", s.initial},
                {"method_state", method_state}, {"fallbacks", fb},
                {"config", prune_config_to_json(c)}, {"history", h}};
  write_file_atomic((fs::path(dir) / "prune_state.json").string(), state.dump() + "\n");
  remove_stale_checkpoint_files(dir, {wfile, ofile});
}

json read_state_json(const std::string& out) {
  std::string path = (fs::path(ckpt_dir(out)) / "prune_state.json").string();
  if (!fs::exists(path))
    throw UserError("no pruning checkpoint to resume in '" + out + "' (missing " + path +
                    "); start a new run without --resume");
  try {
    json j = json::parse(read_file(path));
    if (j.value("format", "") != "mcuprune-prune-checkpoint") throw UserError("'" + path + "' is not a pruning checkpoint");
    if (j.value("version", 0) != 2)
      throw UserError("pruning checkpoint '" + path + "' was written by another version of mcuprune (format version " +
                      std::to_string(j.value("version", 0)) + ", this one reads 2); start a new run in another --out directory");
    return j;
  } catch (const json::parse_error& e) {
    throw UserError("pruning checkpoint '" + path + "' is corrupt: " + e.what());
  }
}


FallbackRecord fallback_from_json(const json& f) {
  FallbackRecord r;
  r.kind = f.at("kind");
  r.epoch = f.at("epoch");
  r.detail = f.at("detail");
  r.before = resource_use_from_json(f.at("before"));
  r.after = resource_use_from_json(f.at("after"));
  return r;
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
  p.resources = resource_use_from_json(e.at("resources"));
  return p;
}

void restore_state(const std::string& out_dir, const PruneConfig& cfg, State& s, Method& m, Graph& original,
                   int& start_epoch, std::vector<PruneEpoch>& history) {
  json j = read_state_json(out_dir);
  const std::string dir = ckpt_dir(out_dir);
  original = load_graph((fs::path(dir) / "original.json").string());
  s.graph = load_graph((fs::path(dir) / "model.json").string());
  s.net = Net(s.graph);
  s.net->load_weight_map(load_weights((fs::path(dir) / j.at("weights").get<std::string>()).string()), dir);
  s.opt = make_optimizer(cfg.train, s.net);
  torch::load(*s.opt, (fs::path(dir) / j.at("optimizer").get<std::string>()).string());
  s.groups = find_channel_groups(s.graph, cfg.min_width, cfg.round_to);
  s.salience = j.at("salience").get<std::vector<std::vector<float>>>();
  if (s.salience.size() != s.groups.groups.size())
    throw UserError("pruning checkpoint in '" + dir + "' is inconsistent: salience for " +
                    std::to_string(s.salience.size()) + " channel groups, the model has " +
                    std::to_string(s.groups.groups.size()) + "; start a new run");
  for (const ChannelGroup& grp : s.groups.groups)
    if (s.salience[size_t(grp.id)].size() != size_t(grp.channels))
      throw UserError("pruning checkpoint in '" + dir + "' is inconsistent: group " + std::to_string(grp.id) +
                      " has " + std::to_string(grp.channels) + " channels but " +
                      std::to_string(s.salience[size_t(grp.id)].size()) + " salience values; start a new run");
  s.pruning_done = j.at("pruning_done");
  s.global_step = j.at("global_step");
  auto init_r = j.at("initial").get<std::vector<double>>();
  for (int k = 0; k < 4; ++k) s.initial[k] = init_r.at(size_t(k));
  for (const auto& f : j.at("fallbacks")) s.fallbacks.push_back(fallback_from_json(f));
  m.load(s, dir, j.at("method_state"));
  start_epoch = j.at("epochs_completed");
  for (const auto& e : j.at("history")) history.push_back(epoch_from_json(e));
}

}  // namespace prune_detail

json prune_epoch_to_json(const PruneEpoch& e) {
  return {{"epoch", e.epoch}, {"train_loss", e.train_loss}, {"train_accuracy", e.train_accuracy},
          {"val_loss", e.val_loss}, {"val_accuracy", e.val_accuracy}, {"lambda", e.lambda},
          {"seconds", e.seconds}, {"channels", e.channels}, {"pruning_done", e.pruning_done},
          {"resources", resource_use_to_json(e.resources)}};
}

json fallback_to_json(const FallbackRecord& f) {
  return {{"kind", f.kind}, {"epoch", f.epoch}, {"detail", f.detail},
          {"before", resource_use_to_json(f.before)}, {"after", resource_use_to_json(f.after)}};
}

PruneConfig read_prune_config(const std::string& out_dir) {
  json j = read_state_json(out_dir);
  return prune_config_from_json(j.at("config"), ckpt_dir(out_dir));
}

}  // namespace mcuprune
