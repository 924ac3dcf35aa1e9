// The training loop, evaluation, and checkpoints (state.json + weights + optimizer state,
// each written atomically; state.json is written last and names the files of its epoch,
// so a crash at any point leaves the previous consistent checkpoint in place).
#include "nn/trainer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <sstream>
#include <thread>

#include <torch/torch.h>

#include "data/audio.h"
#include "data/mfcc.h"
#include "graph/graph_json.h"
#include "graph/io.h"
#include "nn/dist_ops.h"
#include "nn/net.h"
#include "nn/progress.h"
#include "nn/train_internal.h"

namespace mcuprune {

std::atomic<bool> g_stop_requested{false};

namespace detail {

void set_threads(int threads) {
  int t = threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(t);
}

// Deterministic permutation (Fisher-Yates on mt19937_64; no std distributions, whose
// output differs between standard libraries).
std::vector<size_t> permutation(size_t n, uint64_t seed) {
  std::vector<size_t> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = i;
  std::mt19937_64 rng(seed);
  for (size_t i = n; i > 1; --i) std::swap(p[i - 1], p[rng() % i]);
  return p;
}

// Normalised float batch [B, C, H, W] and int64 labels [B] for samples idx[begin, end).
std::pair<torch::Tensor, torch::Tensor> make_batch(const Dataset& d, const std::vector<size_t>& idx,
                                                   size_t begin, size_t end,
                                                   const InputNormalization& norm,
                                                   const Augmentation* aug, std::mt19937_64* rng) {
  const int64_t b = int64_t(end - begin);
  const size_t sb = d.sample_values();
  torch::Tensor labels = torch::empty({b}, torch::kLong);
  int64_t* lab = labels.data_ptr<int64_t>();
  torch::Tensor x;
  if (d.float_samples) {
    // Float features: audio is augmented before its front end (Augmentation::audio).
    torch::Tensor raw = torch::empty({b, d.height, d.width, d.channels}, torch::kFloat);
    float* dst = raw.data_ptr<float>();
    const bool audio_aug = aug && aug->audio && rng && d.has_clips();
    thread_local std::unique_ptr<MfccFrontEnd> front_end;
    thread_local std::string front_end_key;
    if (audio_aug && (!front_end || front_end_key != d.front_end.key())) {
      front_end = std::make_unique<MfccFrontEnd>(d.front_end);
      front_end_key = d.front_end.key();
    }
    for (int64_t k = 0; k < b; ++k) {
      size_t s = idx[begin + size_t(k)];
      if (audio_aug)  // the clip shifted and mixed with noise, then the front end again
        front_end->compute(augment_clip(d, s, *rng).data(), dst + size_t(k) * sb);
      else
        std::memcpy(dst + size_t(k) * sb, d.sample_features(s), sb * sizeof(float));
      lab[k] = d.labels[s];
    }
    x = raw.permute({0, 3, 1, 2});
  } else {
    torch::Tensor raw = torch::empty({b, d.height, d.width, d.channels}, torch::kUInt8);
    uint8_t* dst = raw.data_ptr<uint8_t>();
    for (int64_t k = 0; k < b; ++k) {
      size_t s = idx[begin + size_t(k)];
      if (aug && aug->enabled())
        augment_sample(d.sample(s), dst + size_t(k) * sb, d.height, d.width, d.channels, *aug, *rng);
      else
        std::memcpy(dst + size_t(k) * sb, d.sample(s), sb);
      lab[k] = d.labels[s];
    }
    x = raw.permute({0, 3, 1, 2}).to(torch::kFloat).div_(255.0f);
  }
  if (!norm.empty()) {
    auto mean = torch::tensor(norm.mean).view({1, -1, 1, 1});
    auto sd = torch::tensor(norm.stddev).view({1, -1, 1, 1});
    x = x.sub(mean).div_(sd);
  }
  return {x.contiguous(), labels};
}

InputNormalization normalization_of(const Graph& g, const Dataset& d) {
  if (!g.normalization.empty()) return g.normalization;
  Normalization n = compute_normalization(d);
  for (float& s : n.stddev)
    if (!(s > 1e-6f)) s = 1.0f;  // a constant channel: leave its scale alone
  return {n.mean, n.stddev};
}

void check_data_fits(const Graph& g, const Dataset& d) {
  g.check_classifier_output();
  const Shape& in = g.feature_shape();
  if (in.h != d.height || in.w != d.width || in.c != d.channels)
    throw UserError("model '" + g.name + "' expects inputs of " + in.str() + " but dataset '" +
                    d.name + "' has " + std::to_string(d.height) + "x" + std::to_string(d.width) +
                    "x" + std::to_string(d.channels) + "; pass --input " +
                    std::to_string(d.height) + "x" + std::to_string(d.width) + "x" +
                    std::to_string(d.channels) + " (zoo models) or use a matching dataset");
  if (g.output_shape().c != d.num_classes)
    throw UserError("model '" + g.name + "' has " + std::to_string(g.output_shape().c) +
                    " outputs but dataset '" + d.name + "' has " + std::to_string(d.num_classes) +
                    " classes; pass --classes " + std::to_string(d.num_classes));
}

void check_augmentation(const TrainConfig& c, const Dataset& d) {
  if (c.augmentation.audio && !d.has_clips())
    throw UserError("--augment-audio shifts clips and mixes background noise in before the front end, so it needs an "
                    "audio dataset (a Speech Commands folder); '" + d.name + "' is not one");
  if (d.float_samples && c.augmentation.enabled())
    throw UserError("--augment-crop and --augment-flip shift and mirror images, but dataset '" + d.name +
                    "' holds float features (audio or .npz arrays), which they would garble; leave them out");
  const int side = std::min(d.height, d.width);
  if (c.augmentation.crop_padding >= side)
    throw UserError("--augment-crop " + std::to_string(c.augmentation.crop_padding) + " pads the " +
                    std::to_string(d.height) + "x" + std::to_string(d.width) + " images of '" + d.name +
                    "' by more than they are wide, so crops would be mostly padding: give at most " +
                    std::to_string(std::max(0, side / 4)) + " (a quarter of the image; 4 is usual for 32x32)");
}

double lr_at(const TrainConfig& c, int epoch0, int64_t step_in_epoch, int64_t steps_per_epoch) {
  if (c.schedule == "cosine") {
    double progress = (epoch0 + double(step_in_epoch) / std::max<int64_t>(1, steps_per_epoch)) / c.epochs;
    return c.lr * 0.5 * (1 + std::cos(M_PI * std::min(1.0, progress)));
  }
  if (c.schedule == "step") return c.lr * std::pow(c.step_gamma, epoch0 / c.step_size);
  return c.lr;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainConfig& c, Net& net) {
  if (c.optimizer == "sgd")
    return std::make_unique<torch::optim::SGD>(
        net->parameters(),
        torch::optim::SGDOptions(c.lr).momentum(c.momentum).weight_decay(c.weight_decay));
  return std::make_unique<torch::optim::Adam>(
      net->parameters(), torch::optim::AdamOptions(c.lr).weight_decay(c.weight_decay));
}

void set_lr(torch::optim::Optimizer& opt, double lr) {
  for (auto& group : opt.param_groups()) group.options().set_lr(lr);
}

std::string diverged_message(const TrainConfig& cfg, int epoch, const std::string& what) {
  const char* option = cfg.fake_quant ? "--qat-lr" : "--lr";
  char lr[32];
  std::snprintf(lr, sizeof lr, "%g", cfg.lr);
  return "training diverged in epoch " + std::to_string(epoch + 1) + ": " + what +
         "; nothing of this epoch was saved (the last checkpoint is kept). Start again with a lower learning rate (" +
         option + " is " + lr + "; try 10 times lower)";
}

void check_finite_net(Net& net, const TrainConfig& cfg, int epoch) {
  torch::NoGradGuard no_grad;
  for (const auto& p : net->named_parameters())
    if (!torch::isfinite(p.value()).all().item<bool>())
      throw UserError(diverged_message(cfg, epoch, "weights '" + ir_param_name(net->graph(), p.key()) + "' are not finite (NaN or Inf)"));
  for (const auto& p : net->named_buffers())
    if (p.value().is_floating_point() && !torch::isfinite(p.value()).all().item<bool>())
      throw UserError(diverged_message(cfg, epoch, "statistics '" + ir_param_name(net->graph(), p.key()) + "' are not finite (NaN or Inf)"));
}

// One thread that prepares batches ahead of the training step, in order (so the augmentation's
// random numbers are drawn in the same sequence as without it; its thread-local audio front end
// lives as long as the thread).
class BatchThread {
 public:
  using Batch = std::pair<torch::Tensor, torch::Tensor>;
  BatchThread() : worker_([this] { run(); }) {}
  ~BatchThread() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    worker_.join();
  }
  std::future<Batch> submit(std::function<Batch()> f) {
    std::packaged_task<Batch()> task(std::move(f));
    std::future<Batch> result = task.get_future();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    wake_.notify_one();
    return result;
  }

 private:
  void run() {
    for (;;) {
      std::packaged_task<Batch()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return done_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::packaged_task<Batch()>> tasks_;
  bool done_ = false;
  std::thread worker_;  // last: started once the members above exist
};

void sync_net_from_rank0(Net& net) {
  if (!dist().active()) return;
  std::vector<torch::Tensor> state;
  for (auto& p : net->parameters()) state.push_back(p.data());
  for (auto& b : net->buffers()) state.push_back(b);
  dist_broadcast_(state);
}

// This worker's rows of a global batch [gb, ge): contiguous shares, as even as possible, in
// rank order, so that the workers together read exactly the global batch.
std::pair<size_t, size_t> worker_share(size_t gb, size_t ge) {
  const size_t w = size_t(dist().world), r = size_t(dist().rank), total = ge - gb;
  const size_t per = total / w, extra = total % w;
  const size_t b = gb + r * per + std::min(r, extra);
  return {b, b + per + (r < extra ? 1 : 0)};
}

EpochTotals train_epoch(Net& net, std::unique_ptr<torch::optim::Optimizer>& opt, const Dataset& train,
                        const TrainConfig& cfg, int epoch, const InputNormalization& norm, EpochProgress& bar,
                        const EpochHooks& hooks) {
  net->train();
  // One global sample order for every worker count; a step reads world x batch_size samples,
  // each worker its share (the model one process would train with that batch).
  std::vector<size_t> order = permutation(train.size(), cfg.seed * 1000003ULL + uint64_t(epoch));
  std::mt19937_64 aug_rng(cfg.seed * 7919ULL + uint64_t(epoch) + 104729ULL * uint64_t(dist().rank));
  const size_t world = size_t(dist().world);
  const size_t gbs = size_t(cfg.batch_size) * world;
  const int64_t steps = int64_t((train.size() + gbs - 1) / gbs);
  auto rows_of = [&](int64_t step) {
    const size_t gb = size_t(step) * gbs, ge = std::min(train.size(), gb + gbs);
    return std::make_tuple(gb, ge, worker_share(gb, ge));
  };
  // The next batch is prepared on another thread while this one trains.
  BatchThread batches;
  auto prepare = [&](int64_t step) {
    const auto share = std::get<2>(rows_of(step));
    return batches.submit([&, share] {
      return make_batch(train, order, share.first, share.second, norm, &cfg.augmentation, &aug_rng);
    });
  };
  EpochTotals t;
  t.lr = cfg.lr;
  std::future<std::pair<torch::Tensor, torch::Tensor>> next;
  if (steps > 0) next = prepare(0);
  for (int64_t step = 0; step < steps; ++step) {
    auto [gb, ge, share] = rows_of(step);
    auto [b, e] = share;
    auto [x_host, y_host] = next.get();
    const torch::Tensor x = x_host.to(compute_device()), y = y_host.to(compute_device());
    // BatchNorm cannot train on a single sample; every worker needs one.
    if (ge - gb < std::max<size_t>(2, world)) break;
    if (step + 1 < steps) next = prepare(step + 1);
    t.lr = lr_at(cfg, epoch, step, steps);
    if (hooks.lr) t.lr = hooks.lr(step, t.lr);
    set_lr(*opt, t.lr);
    if (hooks.before_forward) hooks.before_forward(step);
    opt->zero_grad();
    torch::Tensor logits = net->forward(x, true);
    torch::Tensor loss = hooks.loss ? hooks.loss(logits, y, x, BatchRows{order, b, e})
                                    : torch::nn::functional::cross_entropy(logits, y);
    const int64_t n = int64_t(e - b);
    // The global batch's mean loss, whatever the worker count: each worker's mean weighted by
    // its share (the gradients are then summed over the workers). A stop (Ctrl-C) on any worker
    // stops them all here, at the same step, before it changes anything (one collective for both).
    std::vector<double> global{loss.item<double>() * double(n), g_stop_requested ? 1.0 : 0.0};
    dist_sum(global);
    if (global[1] > 0) {
      g_stop_requested = true;
      break;
    }
    const double loss_value = global[0] / double(ge - gb);
    if (!std::isfinite(loss_value))
      throw UserError(diverged_message(cfg, epoch, "the loss of step " + std::to_string(step + 1) + " is " +
                                                       (std::isnan(loss_value) ? "NaN" : "infinite")));
    (world > 1 ? loss * (double(n) / double(ge - gb)) : loss).backward();
    if (world > 1) {  // one all-reduce for every gradient of the step
      std::vector<torch::Tensor> with_grad = net->parameters();
      if (hooks.summed_gradients)
        for (const torch::Tensor& extra : hooks.summed_gradients()) with_grad.push_back(extra);
      dist_allreduce_grads(with_grad);
    }
    opt->step();
    t.loss_sum += loss_value * double(ge - gb);
    t.correct += logits.argmax(1).eq(y).sum().item<int64_t>();
    t.seen += n;
    bar.update(t.seen * int64_t(world), t.loss_sum / double(std::max<int64_t>(1, t.seen * int64_t(world))),
               double(t.correct) / double(std::max<int64_t>(1, t.seen)));
    if (hooks.after_step) hooks.after_step(step);
  }
  if (next.valid()) next.wait();
  // Totals over every worker: the global loss is already summed; accuracy and counts are not.
  std::vector<int64_t> counts{t.correct, t.seen};
  dist_sum(counts);
  t.correct = counts[0];
  t.seen = counts[1];
  t.interrupted = g_stop_requested;
  return t;
}

std::string checkpoint_tag(const std::string& dir, const std::string& base, const std::vector<std::string>& stems) {
  for (int n = 0;; ++n) {
    const std::string tag = n ? base + "." + std::to_string(n) : base;
    bool taken = false;
    for (const std::string& stem : stems) {
      std::error_code ec;
      for (const auto& e : std::filesystem::directory_iterator(dir, ec))
        if (e.path().filename().string().rfind(stem + tag + ".", 0) == 0) taken = true;
    }
    if (!taken) return tag;
  }
}

void check_checkpoint_file_name(const std::string& name, const std::string& where) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
    throw UserError(where + " names the file '" + name + "', which is not a file of its directory; start a new run");
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

void clean_checkpoint_dir(const std::string& dir, const std::string& manifest_name,
                          const std::vector<std::string>& files) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name != manifest_name && std::find(files.begin(), files.end(), name) == files.end() &&
        entry.is_regular_file(ec))
      std::filesystem::remove(entry.path(), ec);
  }
}

void commit_checkpoint(const std::string& dir, const std::string& manifest_name, const std::string& manifest_text,
                       const std::vector<std::string>& files) {
  write_file_atomic((std::filesystem::path(dir) / manifest_name).string(), manifest_text);
  clean_checkpoint_dir(dir, manifest_name, files);
}

}  // namespace detail

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json g_checkpoint_extra = json::object();
using namespace detail;

std::string checkpoint_dir(const std::string& out_dir) { return (fs::path(out_dir) / "checkpoint").string(); }

void save_checkpoint(const std::string& out_dir, const Graph& g, Net& net,
                     torch::optim::Optimizer& opt, const TrainConfig& cfg, int epochs_completed,
                     bool interrupted, const std::vector<EpochStats>& history) {
  const std::string dir = checkpoint_dir(out_dir);
  fs::create_directories(dir);
  const std::string tag =
      checkpoint_tag(dir, "e" + std::to_string(epochs_completed) + (interrupted ? "i" : ""), {"weights-", "optimizer-"});
  const std::string wfile = "weights-" + tag + ".bin", ofile = "optimizer-" + tag + ".pt";
  save_graph((fs::path(dir) / "model.json").string(), g);  // the same architecture at every save of a run
  save_weights((fs::path(dir) / wfile).string(), net->weight_map());
  std::ostringstream os;
  torch::save(opt, os);
  write_file_atomic((fs::path(dir) / ofile).string(), os.str());
  json hist = json::array();
  for (const auto& e : history) hist.push_back(epoch_stats_to_json(e));
  json state = {{"format", "mcuprune-checkpoint"},
                {"version", 1},
                {"epochs_completed", epochs_completed},
                {"interrupted", interrupted},
                {"weights", wfile},
                {"optimizer", ofile},
                {"config", train_config_to_json(cfg)},
                {"history", hist},
                {"world_size", dist().world},
                {"extra", g_checkpoint_extra}};
  commit_checkpoint(dir, "state.json", state.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", {"model.json", wfile, ofile});
}

json read_state(const std::string& out_dir) {
  const std::string path = (fs::path(checkpoint_dir(out_dir)) / "state.json").string();
  if (!fs::exists(path))
    throw UserError("no checkpoint to resume in '" + out_dir + "' (missing " + path +
                    "); start a new run without --resume");
  json s;
  try {
    s = json::parse(read_file(path));
  } catch (const json::exception& e) {
    throw UserError("checkpoint '" + path + "' is corrupt: " + e.what());
  }
  if (!s.is_object() || !s.contains("format") || s["format"] != "mcuprune-checkpoint")
    throw UserError("'" + path + "' is not an mcuprune checkpoint");
  if (s.value("version", json(0)) != json(1))
    throw UserError("checkpoint '" + path + "' was written by another version of mcuprune (format version " +
                    s.value("version", json(0)).dump() + ", this one reads 1); start a new run (--force, or another --out)");
  return s;
}

}  // namespace

void set_checkpoint_extra(const json& extra) { g_checkpoint_extra = extra; }

using namespace detail;

CheckpointInfo read_checkpoint(const std::string& out_dir) {
  json s = read_state(out_dir);
  const std::string where = (fs::path(checkpoint_dir(out_dir)) / "state.json").string();
  CheckpointInfo info;
  info.graph = load_graph((fs::path(checkpoint_dir(out_dir)) / "model.json").string());
  try {
    info.config = train_config_from_json(s.at("config"), where);
    const json& done = s.at("epochs_completed");
    if (!done.is_number_unsigned()) throw UserError(where + " is damaged: epochs_completed must be a whole number >= 0");
    info.epochs_completed = done.get<int>();
    info.interrupted = s.value("interrupted", false);
    for (const auto& e : s.at("history")) info.history.push_back(epoch_stats_from_json(e));
    info.extra = s.value("extra", json::object());
  } catch (const json::exception& e) {
    throw UserError("checkpoint '" + where + "' is damaged (" + e.what() + "); start a new run (--force)");
  }
  return info;
}

EvalResult detail::evaluate_net(Net& net, const Dataset& d, const InputNormalization& norm, int batch_size) {
  torch::NoGradGuard no_grad;
  net->eval();
  EvalResult r;
  const int k = d.num_classes;
  r.confusion.assign(size_t(k), std::vector<int64_t>(size_t(k), 0));
  std::vector<size_t> idx(d.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  double loss_sum = 0;
  int64_t correct = 0;
  // Each worker evaluates its share of the samples; the sums are combined below.
  const auto [first, last] = worker_share(0, d.size());
  for (size_t b = first; b < last; b += size_t(batch_size)) {
    size_t e = std::min(last, b + size_t(batch_size));
    auto [x_host, y] = make_batch(d, idx, b, e, norm, nullptr, nullptr);
    torch::Tensor logits = net->forward(x_host.to(compute_device()), true).to(torch::kCPU);
    if (!torch::isfinite(logits).all().item<bool>())
      throw UserError("the model's outputs are not finite (NaN or Inf) on samples " + std::to_string(b) + ".." +
                      std::to_string(e - 1) + " of '" + d.name +
                      "': its weights overflow float32 arithmetic; retrain it or check where its weights came from");
    loss_sum += torch::nn::functional::cross_entropy(
                    logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .item<double>();
    torch::Tensor pred = logits.argmax(1);
    auto pa = pred.accessor<int64_t, 1>();
    auto ya = y.accessor<int64_t, 1>();
    for (int64_t i = 0; i < pred.size(0); ++i) {
      r.confusion[size_t(ya[i])][size_t(pa[i])]++;
      correct += pa[i] == ya[i];
    }
  }
  if (dist().active()) {
    std::vector<double> sums{loss_sum};
    dist_sum(sums);
    loss_sum = sums[0];
    std::vector<int64_t> counts{correct};
    for (const auto& row : r.confusion) counts.insert(counts.end(), row.begin(), row.end());
    dist_sum(counts);
    correct = counts[0];
    for (size_t i = 0, at = 1; i < r.confusion.size(); ++i)
      for (size_t j = 0; j < r.confusion[i].size(); ++j) r.confusion[i][j] = counts[at++];
  }
  r.samples = int64_t(d.size());
  r.loss = r.samples ? loss_sum / r.samples : 0;
  r.accuracy = r.samples ? double(correct) / r.samples : 0;
  return r;
}

EvalResult evaluate_model(const Graph& g, const WeightMap& w, const Dataset& d, int batch_size,
                          int threads) {
  set_threads(threads);
  check_data_fits(g, d);
  Net net(g);
  net->load_weight_map(w, "model weights");
  return evaluate_net(net, d, normalization_of(g, d), batch_size);
}

TrainResult train_model(const Graph& g_in, const WeightMap* init, const DatasetSplits& data,
                        const TrainConfig& cfg, const std::string& out_dir, bool resume,
                        const OutputOptions& out) {
  validate_train_config(cfg);
  set_threads(cfg.threads);
  check_data_fits(g_in, data.train);
  check_augmentation(cfg, data.train);
  if (data.train.size() < 2) throw UserError("the training set needs at least 2 samples");
  Graph g = g_in;
  if (g.normalization.empty()) g.normalization = normalization_of(g, data.train);
  if (g.class_names.empty()) g.class_names = data.train.class_names;

  torch::manual_seed(cfg.seed);
  Net net(g);
  if (init) net->load_weight_map(*init, "initial weights");
  if (cfg.fake_quant) net->set_fake_quant(true);
  auto opt = make_optimizer(cfg, net);

  TrainResult result;
  result.layout = net->layout();
  int start_epoch = 0;
  if (resume) {
    json s = read_state(out_dir);
    const std::string dir = checkpoint_dir(out_dir);
    const std::string where = "checkpoint '" + (fs::path(dir) / "state.json").string() + "'";
    std::string wname, oname;
    try {
      wname = s.at("weights").get<std::string>();
      oname = s.at("optimizer").get<std::string>();
      start_epoch = s.at("epochs_completed").get<int>();
      for (const auto& e : s.at("history")) result.history.push_back(epoch_stats_from_json(e));
    } catch (const json::exception& e) {
      throw UserError(where + " is damaged (" + e.what() + "); start a new run in another --out directory");
    }
    check_checkpoint_file_name(wname, where);
    check_checkpoint_file_name(oname, where);
    if (start_epoch < 0 || size_t(start_epoch) != result.history.size())
      throw UserError(where + " is inconsistent: epochs_completed is " + std::to_string(start_epoch) + " but it holds " +
                      std::to_string(result.history.size()) + " epochs of history; start a new run in another --out directory");
    clean_checkpoint_dir(dir, "state.json", {"model.json", wname, oname});
    net->load_weight_map(load_weights((fs::path(dir) / wname).string()), dir);
    std::string opath = (fs::path(dir) / oname).string();
    try {
      torch::load(*opt, opath);
    } catch (const std::exception& e) {
      throw UserError("cannot load optimizer state '" + opath + "' (damaged?): " + first_line(e.what()) +
                      "; start a new run in another --out directory");
    }
    const int saved_world = s.value("world_size", 1);
    if (saved_world != dist().world)
      throw UserError(where + " was written by a run of " + std::to_string(saved_world) + " worker(s); resume it with " +
                      std::to_string(saved_world) + (saved_world > 1 ? " (mcuprune launch --nproc " +
                      std::to_string(saved_world) + " -- train --resume DIR)" : " (without mcuprune launch)") +
                      ", since the worker count sets the global batch (" + std::to_string(saved_world) + " x --batch-size)");
    if (start_epoch >= cfg.epochs && !out.quiet && is_rank0())
      std::fprintf(stderr, "checkpoint already has %d of %d epochs; nothing to train\n",
                   start_epoch, cfg.epochs);
  }

  // Every worker starts from rank 0's weights and statistics (and its optimizer state, which a
  // resumed run read from the same checkpoint).
  sync_net_from_rank0(net);
  const bool quiet = out.quiet || !is_rank0();
  JsonLinesLog log(is_rank0() ? out.log_json : std::string());

  const Dataset& train = data.train;
  auto t0 = std::chrono::steady_clock::now();
  result.epochs_completed = start_epoch;
  for (int epoch = start_epoch; epoch < cfg.epochs; ++epoch) {
    EpochProgress bar(epoch + 1, cfg.epochs, int64_t(train.size()), quiet);
    const EpochTotals t = train_epoch(net, opt, train, cfg, epoch, g.normalization, bar);
    if (t.interrupted) {
      if (is_rank0()) save_checkpoint(out_dir, g, net, *opt, cfg, epoch, true, result.history);
      bar.finish("interrupted in epoch " + std::to_string(epoch + 1) + "; checkpoint saved to " +
                 checkpoint_dir(out_dir) + "; continue with --resume " +
                 (out.resume_dir.empty() ? out_dir : out.resume_dir));
      result.interrupted = true;
      break;
    }
    EpochStats st;
    st.epoch = epoch + 1;
    st.lr = t.lr;
    st.seconds = bar.elapsed_seconds();
    st.train_loss = t.seen ? t.loss_sum / double(t.seen) : 0;
    st.train_accuracy = t.seen ? double(t.correct) / double(t.seen) : 0;
    st.samples_per_second = st.seconds > 0 ? double(t.seen) / st.seconds : 0;
    check_finite_net(net, cfg, epoch);  // before validation, which would fail on it less clearly
    if (data.val.size() > 0) {
      EvalResult v = evaluate_net(net, data.val, g.normalization, 256);
      st.val_loss = v.loss;
      st.val_accuracy = v.accuracy;
    }
    result.history.push_back(st);
    result.epochs_completed = epoch + 1;
    if (is_rank0()) save_checkpoint(out_dir, g, net, *opt, cfg, epoch + 1, false, result.history);
    char line[256];
    std::snprintf(line, sizeof line,
                  "epoch %d/%d  loss %.4f  acc %.4f  val_loss %.4f  val_acc %.4f  %.0f samples/s  %s",
                  st.epoch, cfg.epochs, st.train_loss, st.train_accuracy, st.val_loss,
                  st.val_accuracy, st.samples_per_second, format_duration(st.seconds).c_str());
    bar.finish(line);
    log.append(epoch_stats_to_json(st).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  result.train_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  result.graph = g;
  result.weights = net->weight_map();
  return result;
}

double measure_train_throughput(const Graph& g, const Dataset& d, int batch_size, int steps,
                                int warmup, int threads, uint64_t seed, const std::string& layout,
                                std::string* used) {
  set_threads(threads);
  check_data_fits(g, d);
  torch::manual_seed(seed);
  Net net(g);
  if (layout == "nchw") net->set_channels_last(false);
  else if (layout == "channels-last") net->set_channels_last(true);
  else if (layout != "auto") throw UserError("layout '" + layout + "': use auto, nchw or channels-last");
  if (used) *used = net->layout();
  net->train();
  InputNormalization norm = normalization_of(g, d);
  torch::optim::SGD opt(net->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  std::vector<size_t> order = permutation(d.size(), seed);
  size_t pos = 0;
  auto step = [&] {
    if (pos + size_t(batch_size) > d.size()) pos = 0;
    auto [x, y] = make_batch(d, order, pos, pos + size_t(batch_size), norm, nullptr, nullptr);
    pos += size_t(batch_size);
    opt.zero_grad();
    torch::Tensor loss = torch::nn::functional::cross_entropy(net->forward(x.to(compute_device()), true),
                                                              y.to(compute_device()));
    loss.backward();
    opt.step();
    return loss.item<double>();
  };
  for (int i = 0; i < warmup; ++i) step();
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) step();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return s > 0 ? double(steps) * batch_size / s : 0;
}

}  // namespace mcuprune
