// Pruning checkpoints: out/checkpoint/ holds the current and original architectures, the
// weights and optimizer state of the last completed (or interrupted) epoch, and
// prune_state.json, the manifest, written last, which names those files and holds the loop's
// and the method's state, the fallbacks and the history. Every save writes new file names,
// so a kill at any point leaves the previous manifest and every file it names; resume checks
// each field against the model and removes what no manifest names.
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

#include "graph/graph_json.h"
#include "graph/io.h"
#include "nn/dist.h"
#include "nn/train_internal.h"
#include "prune/internal.h"

namespace mcuprune {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace detail;
using namespace prune_detail;

namespace prune_detail {

namespace {
constexpr int kStateVersion = 3;
constexpr const char* kStateFile = "prune_state.json";
constexpr const char* kOriginalFile = "original.json";
constexpr const char* kTeacherFile = "teacher.json";
}  // namespace

std::string ckpt_dir(const std::string& out) { return (fs::path(out) / "checkpoint").string(); }

void save_state(const std::string& out, State& s, Method& m, const Graph& original, const PruneConfig& c,
                int epochs_completed, bool interrupted, const std::vector<PruneEpoch>& hist) {
  const std::string dir = ckpt_dir(out);
  fs::create_directories(dir);
  const std::string tag = checkpoint_tag(dir, "e" + std::to_string(epochs_completed) + (interrupted ? "i" : ""),
                                         {"model-", "weights-", "optimizer-", "teacher-"});
  const std::string mfile = "model-" + tag + ".json", wfile = "weights-" + tag + ".bin",
                    ofile = "optimizer-" + tag + ".pt";
  save_graph((fs::path(dir) / mfile).string(), s.graph);
  save_graph((fs::path(dir) / kOriginalFile).string(), original);  // the same at every save of a run
  save_weights((fs::path(dir) / wfile).string(), s.net->weight_map());
  std::ostringstream os;
  torch::save(*s.opt, os);
  write_file_atomic((fs::path(dir) / ofile).string(), os.str());
  std::vector<std::string> files = {mfile, kOriginalFile, wfile, ofile};
  json teacher = nullptr;
  if (s.teacher) {  // --distill, from the end of the warm-up on
    const std::string tfile = "teacher-" + tag + ".bin";
    save_graph((fs::path(dir) / kTeacherFile).string(), s.teacher_graph);
    save_weights((fs::path(dir) / tfile).string(), s.teacher->weight_map());
    teacher = {{"model", kTeacherFile}, {"weights", tfile}};
    files.insert(files.end(), {kTeacherFile, tfile});
  }
  json method_state = m.save();
  json h = json::array(), fb = json::array();
  for (const auto& e : hist) h.push_back(prune_epoch_to_json(e));
  for (const auto& f : s.fallbacks) fb.push_back(fallback_to_json(f));
  json state = {{"format", "mcuprune-prune-checkpoint"}, {"version", kStateVersion},
                {"epochs_completed", epochs_completed}, {"interrupted", interrupted},
                {"model", mfile}, {"original", kOriginalFile},
                {"weights", wfile}, {"optimizer", ofile}, {"salience", s.salience},
                {"pruning_done", s.pruning_done}, {"global_step", s.global_step}, {"initial", s.initial},
                {"method_state", method_state}, {"fallbacks", fb}, {"teacher", teacher},
                {"rewarm_from", s.rewarm_from}, {"world_size", dist().world},
                {"config", prune_config_to_json(c)}, {"history", h}};
  // The manifest last; the previous checkpoint's files go only once it is in place.
  commit_checkpoint(dir, kStateFile, state.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", files);
}

bool has_checkpoint(const std::string& out) { return fs::exists(fs::path(ckpt_dir(out)) / kStateFile); }

json read_state_json(const std::string& out) {
  std::string path = (fs::path(ckpt_dir(out)) / kStateFile).string();
  if (!fs::exists(path))
    throw UserError("no pruning checkpoint to resume in '" + out + "' (missing " + path +
                    "); start a new run without --resume");
  try {
    json j = json::parse(read_file(path));
    if (!j.is_object() || j.value("format", "") != "mcuprune-prune-checkpoint")
      throw UserError("'" + path + "' is not a pruning checkpoint");
    if (j.value("version", 0) != kStateVersion)
      throw UserError("pruning checkpoint '" + path + "' was written by another version of mcuprune (format version " +
                      j.value("version", json(0)).dump() + ", this one reads " + std::to_string(kStateVersion) +
                      "); start a new run in another --out directory");
    return j;
  } catch (const json::exception& e) {
    throw UserError("pruning checkpoint '" + path + "' is corrupt: " + e.what() + "; start a new run in another --out directory");
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
  p.lr = e.value("lr", 0.0);  // absent before --lr-rewarm
  p.pruning_done = e.at("pruning_done");
  p.resources = resource_use_from_json(e.at("resources"));
  p.layout = e.value("layout", std::string());  // absent in runs from before the layout choice
  if (e.contains("time_s")) p.time_s = e.at("time_s").get<std::map<std::string, double>>();  // absent before 0.1.1
  return p;
}

void restore_state(const std::string& out_dir, const PruneConfig& cfg, State& s, Method& m, Graph& original,
                   int& start_epoch, std::vector<PruneEpoch>& history) {
  json j = read_state_json(out_dir);
  const std::string dir = ckpt_dir(out_dir);
  const std::string where = "pruning checkpoint '" + (fs::path(dir) / kStateFile).string() + "'";
  auto inconsistent = [&](const std::string& what) {
    return UserError(where + " is inconsistent: " + what + "; start a new run in another --out directory");
  };
  try {
    std::map<std::string, std::string> file;
    for (const char* k : {"model", "original", "weights", "optimizer"}) {
      file[k] = j.at(k).get<std::string>();
      check_checkpoint_file_name(file[k], where);
    }
    std::vector<std::string> keep = {file["model"], file["original"], file["weights"], file["optimizer"]};
    const json teacher = j.value("teacher", json());  // absent in runs from before --distill
    if (!teacher.is_null()) {
      for (const char* k : {"model", "weights"}) {
        file[std::string("teacher_") + k] = teacher.at(k).get<std::string>();
        check_checkpoint_file_name(file[std::string("teacher_") + k], where);
        keep.push_back(file[std::string("teacher_") + k]);
      }
    }
    clean_checkpoint_dir(dir, kStateFile, keep);
    original = load_graph((fs::path(dir) / file["original"]).string());
    s.graph = load_graph((fs::path(dir) / file["model"]).string());
    if (s.graph.input_shape() != original.input_shape() || s.graph.output_shape() != original.output_shape())
      throw inconsistent("the pruned model's input or output differs from the original's");
    s.net = Net(s.graph, cfg.pad_channels);
    s.net->load_weight_map(load_weights((fs::path(dir) / file["weights"]).string()), dir);
    s.opt = make_optimizer(cfg.train, s.net);
    const std::string opath = (fs::path(dir) / file["optimizer"]).string();
    try {
      torch::load(*s.opt, opath);
    } catch (const std::exception& e) {
      throw UserError("cannot load the optimizer state '" + opath + "' (damaged?): " + first_line(e.what()) +
                      "; start a new run in another --out directory");
    }
    if (!teacher.is_null()) {
      s.teacher_graph = load_graph((fs::path(dir) / file["teacher_model"]).string());
      if (s.teacher_graph.input_shape() != original.input_shape() || s.teacher_graph.output_shape() != original.output_shape())
        throw inconsistent("the teacher's input or output differs from the original's");
      s.teacher = Net(s.teacher_graph, cfg.pad_channels);
      s.teacher->load_weight_map(load_weights((fs::path(dir) / file["teacher_weights"]).string()), dir);
      s.teacher->eval();
    }
    // The worker count sets the global batch, so the schedule and every decision depend on it.
    const int saved_world = j.value("world_size", 1);  // absent before data-parallel pruning: one process
    if (saved_world != dist().world)
      throw UserError(where + " was written by a run of " + std::to_string(saved_world) + " worker(s); resume it with " +
                      std::to_string(saved_world) +
                      (saved_world > 1 ? " (mcuprune launch --nproc " + std::to_string(saved_world) + " -- prune --resume DIR)"
                                       : " (without mcuprune launch)") +
                      ", since the worker count sets the global batch (" + std::to_string(saved_world) + " x --batch-size)");
    s.rewarm_from = j.value("rewarm_from", int64_t(-1));
    if (s.rewarm_from < -1) throw inconsistent("rewarm_from is below -1");
    s.groups = groups_of(s.graph, cfg);
    s.salience = j.at("salience").get<std::vector<std::vector<float>>>();
    if (s.salience.size() != s.groups.groups.size())
      throw inconsistent("salience for " + std::to_string(s.salience.size()) + " channel groups, the model has " +
                         std::to_string(s.groups.groups.size()));
    for (const ChannelGroup& grp : s.groups.groups) {
      const auto& sal = s.salience[size_t(grp.id)];
      if (sal.size() != size_t(grp.channels))
        throw inconsistent("group " + std::to_string(grp.id) + " has " + std::to_string(grp.channels) +
                           " channels but " + std::to_string(sal.size()) + " salience values");
      for (float v : sal)
        if (!std::isfinite(v)) throw inconsistent("a salience value is not a finite number");
    }
    s.pruning_done = j.at("pruning_done").get<bool>();
    s.global_step = j.at("global_step").get<int64_t>();
    if (s.global_step < 0) throw inconsistent("global_step is negative");
    auto init_r = j.at("initial").get<std::vector<double>>();
    if (init_r.size() != 4) throw inconsistent("\"initial\" needs 4 resource values");
    for (int k = 0; k < 4; ++k) {
      if (!std::isfinite(init_r[size_t(k)]) || init_r[size_t(k)] < 0) throw inconsistent("an initial resource value is not a number >= 0");
      s.initial[k] = init_r[size_t(k)];
    }
    for (const auto& f : j.at("fallbacks")) s.fallbacks.push_back(fallback_from_json(f));
    start_epoch = j.at("epochs_completed").get<int>();
    for (const auto& e : j.at("history")) history.push_back(epoch_from_json(e));
    if (start_epoch < 0 || size_t(start_epoch) != history.size())
      throw inconsistent("epochs_completed is " + std::to_string(start_epoch) + " but the history holds " +
                         std::to_string(history.size()) + " epochs");
    for (size_t k = 0; k < history.size(); ++k)
      if (history[k].epoch != int(k) + 1) throw inconsistent("the history's epochs are not 1, 2, ... in order");
    m.load(s, dir, j.at("method_state"));
  } catch (const json::exception& e) {
    throw UserError(where + " is damaged (" + e.what() + "); start a new run in another --out directory");
  }
}

}  // namespace prune_detail

json prune_epoch_to_json(const PruneEpoch& e) {
  json j = {{"epoch", e.epoch}, {"train_loss", e.train_loss}, {"train_accuracy", e.train_accuracy},
            {"val_loss", e.val_loss}, {"val_accuracy", e.val_accuracy}, {"lambda", e.lambda},
            {"seconds", e.seconds}, {"lr", e.lr}, {"channels", e.channels}, {"pruning_done", e.pruning_done},
            {"resources", resource_use_to_json(e.resources)}, {"time_s", e.time_s}};
  if (!e.layout.empty()) j["layout"] = e.layout;  // unknown for epochs of runs from before it
  return j;
}

json fallback_to_json(const FallbackRecord& f) {
  return {{"kind", f.kind}, {"epoch", f.epoch}, {"detail", f.detail},
          {"before", resource_use_to_json(f.before)}, {"after", resource_use_to_json(f.after)}};
}

PruneConfig read_prune_config(const std::string& out_dir) {
  json j = read_state_json(out_dir);
  try {
    return prune_config_from_json(j.at("config"), ckpt_dir(out_dir));
  } catch (const json::exception& e) {
    throw UserError("pruning checkpoint in '" + ckpt_dir(out_dir) + "' is damaged (" + e.what() +
                    "); start a new run in another --out directory");
  }
}

Graph read_prune_original(const std::string& out_dir) {
  json j = read_state_json(out_dir);
  const std::string where = "pruning checkpoint in '" + ckpt_dir(out_dir) + "'";
  std::string name;
  try {
    name = j.at("original").get<std::string>();
  } catch (const json::exception& e) {
    throw UserError(where + " is damaged (" + e.what() + "); start a new run in another --out directory");
  }
  check_checkpoint_file_name(name, where);
  return load_graph((fs::path(ckpt_dir(out_dir)) / name).string());
}

bool holds_prune_run(const std::string& out_dir) { return prune_detail::has_checkpoint(out_dir); }

}  // namespace mcuprune
