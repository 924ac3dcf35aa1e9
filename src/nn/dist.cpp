// Data-parallel runs on torch's c10d: TCPStore rendezvous and a Gloo process group (dist.h,
// dist_ops.h).
#include "nn/dist.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL  // a CUDA LibTorch with NCCL's headers (CMakeLists.txt)
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "graph/graph.h"
#include "nn/dist_ops.h"

namespace mcuprune {

namespace {

DistInfo g_info;
c10::intrusive_ptr<c10d::Store> g_store;

// While it lives, stderr goes nowhere: c10d logs every connection retry and timeout of the
// rendezvous there (several lines each), and the one-line error thrown after it says the same.
class QuietStderr {
 public:
  QuietStderr() {
    std::fflush(stderr);
    saved_ = ::dup(2);
    const int null = ::open("/dev/null", O_WRONLY);
    if (saved_ >= 0 && null >= 0) ::dup2(null, 2);
    if (null >= 0) ::close(null);
  }
  ~QuietStderr() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
  }
  QuietStderr(const QuietStderr&) = delete;
  QuietStderr& operator=(const QuietStderr&) = delete;

 private:
  int saved_ = -1;
};
c10::intrusive_ptr<c10d::ProcessGroupGloo> g_group;

#ifdef USE_C10D_NCCL
// CUDA tensors go through NCCL (made at the first collective on one); host values through Gloo.
c10::intrusive_ptr<c10d::ProcessGroupNCCL> g_nccl;
c10d::ProcessGroupNCCL& nccl() {
  if (!g_nccl) {
    auto o = c10d::ProcessGroupNCCL::Options::create();
    o->timeout = std::chrono::milliseconds(int64_t(g_info.timeout_s * 1000));
    g_nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(c10::make_intrusive<c10d::PrefixStore>("nccl/", g_store),
                                                         g_info.rank, g_info.world, o);
  }
  return *g_nccl;
}
#endif

// A collective `f(group)` on the group for `t`'s device.
template <class F>
c10::intrusive_ptr<c10d::Work> on_group_of(const torch::Tensor& t, F f) {
#ifdef USE_C10D_NCCL
  if (t.is_cuda()) return f(nccl());
#else
  (void)t;  // Gloo takes CUDA tensors too (in a CUDA LibTorch), through host copies
#endif
  return f(*g_group);
}

int parse_int(const std::string& text, const std::string& what, int lo, int hi) {
  size_t used = 0;
  long v = 0;
  try {
    v = std::stol(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || v < lo || v > hi)
    throw UserError(what + " must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi) +
                    ", got \"" + text + "\"");
  return int(v);
}

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

[[noreturn]] void lost(const std::exception& e, const std::string& during) {
  throw UserError("worker lost: " + during + " failed on rank " + std::to_string(g_info.rank) + " of " +
                  std::to_string(g_info.world) + " (" + first_line(e.what()) +
                  "): another worker died, was killed or did not answer within " +
                  std::to_string(int(g_info.timeout_s)) + " s; every worker stops. The last checkpoint is "
                  "kept: rerun with --resume and the same number of workers");
}

void wait(const c10::intrusive_ptr<c10d::Work>& work, const std::string& during) {
  try {
    work->wait(std::chrono::milliseconds(int64_t(g_info.timeout_s * 1000)));
  } catch (const std::exception& e) {
    lost(e, during);
  }
}

}  // namespace

DistInfo resolve_dist(const DistOptions& f) {
  DistInfo d;
  d.timeout_s = f.timeout_s;
  if (!(f.timeout_s > 0)) throw UserError("--dist-timeout must be more than 0 seconds");
  const bool flags = !f.url.empty() || f.world_size >= 0 || f.rank >= 0;
  if (flags) {
    if (f.world_size == 0 || f.world_size > 4096)
      throw UserError("--world-size must be from 1 to 4096 (the number of workers), got " + std::to_string(f.world_size));
    if (f.url.empty() || f.world_size < 0 || f.rank < 0)
      throw UserError("--dist-url, --world-size and --rank go together (e.g. --dist-url tcp://10.0.0.1:29500 "
                      "--world-size 2 --rank 0); give all three, or set MASTER_ADDR, MASTER_PORT, WORLD_SIZE and "
                      "RANK as torchrun does, or use mcuprune launch");
    const std::string prefix = "tcp://";
    const size_t colon = f.url.rfind(':');
    if (f.url.rfind(prefix, 0) != 0 || colon == std::string::npos || colon < prefix.size() + 1)
      throw UserError("--dist-url must be tcp://HOST:PORT (the address of rank 0), got \"" + f.url + "\"");
    d.host = f.url.substr(prefix.size(), colon - prefix.size());
    d.port = parse_int(f.url.substr(colon + 1), "the port of --dist-url", 1, 65535);
    d.world = f.world_size;
    if (f.rank >= f.world_size)
      throw UserError("--rank must be less than --world-size (" + std::to_string(f.world_size) + "), got " +
                      std::to_string(f.rank));
    d.rank = d.local_rank = f.rank;
    d.source = "flags";
    return d;
  }
  const auto world = env("WORLD_SIZE");
  if (!world) return d;
  d.world = parse_int(*world, "WORLD_SIZE", 1, 4096);
  const auto rank = env("RANK"), addr = env("MASTER_ADDR"), port = env("MASTER_PORT");
  if (!rank || !addr || !port)
    throw UserError("WORLD_SIZE is set, so RANK, MASTER_ADDR and MASTER_PORT must be too (as torchrun sets them); "
                    "missing: " + std::string(!rank ? "RANK " : "") + (!addr ? "MASTER_ADDR " : "") +
                    (!port ? "MASTER_PORT" : ""));
  d.rank = parse_int(*rank, "RANK", 0, d.world - 1);
  d.local_rank = env("LOCAL_RANK") ? parse_int(*env("LOCAL_RANK"), "LOCAL_RANK", 0, 4095) : d.rank;
  d.host = *addr;
  d.port = parse_int(*port, "MASTER_PORT", 1, 65535);
  d.source = "environment";
  return d;
}

void init_dist(const DistInfo& info) {
  g_info = info;
  if (!info.active()) return;
  const auto timeout = std::chrono::milliseconds(int64_t(info.timeout_s * 1000));
  QuietStderr quiet;  // until the group stands (or the error below is thrown)
  try {
    c10d::TCPStoreOptions o;
    o.port = uint16_t(info.port);
    o.isServer = info.rank == 0;
    o.numWorkers = size_t(info.world);
    o.waitWorkers = true;
    o.timeout = timeout;
    g_store = c10::make_intrusive<c10d::TCPStore>(info.host, o);
  } catch (const std::exception& e) {
    throw UserError("cannot join the workers at " + info.host + ":" + std::to_string(info.port) + " as rank " +
                    std::to_string(info.rank) + " of " + std::to_string(info.world) + " (" + first_line(e.what()) +
                    "): start every worker within " + std::to_string(int(info.timeout_s)) +
                    " s, with rank 0's address, and a port nobody else uses");
  }
  try {
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    const bool loopback = info.host == "localhost" || info.host.rfind("127.", 0) == 0;
    options->devices.push_back(loopback ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                        : c10d::ProcessGroupGloo::createDefaultDevice());
    options->threads = 2;
    g_group = c10::make_intrusive<c10d::ProcessGroupGloo>(g_store, info.rank, info.world, options);
  } catch (const std::exception& e) {
    throw UserError("cannot connect the workers (Gloo, rank " + std::to_string(info.rank) + " of " +
                    std::to_string(info.world) + "): " + first_line(e.what()) + "; check that " + info.host + ":" +
                    std::to_string(info.port) + " is rank 0 of this run (not another program) and that every worker "
                    "was started with the same world size");
  }
}

const DistInfo& dist() { return g_info; }

void dist_allreduce_(torch::Tensor& t) {
  if (!g_info.active()) return;
  std::vector<torch::Tensor> v{t};
  c10::intrusive_ptr<c10d::Work> w;
  try {
    w = on_group_of(t, [&](auto& g) { return g.allreduce(v); });
  } catch (const std::exception& e) {
    lost(e, "a sum over the workers");
  }
  wait(w, "a sum over the workers");
}

void dist_broadcast_(std::vector<torch::Tensor>& tensors) {
  if (!g_info.active()) return;
  for (torch::Tensor& t : tensors) {
    std::vector<torch::Tensor> v{t};
    c10d::BroadcastOptions o;
    o.rootRank = 0;
    c10::intrusive_ptr<c10d::Work> w;
    try {
      w = on_group_of(t, [&](auto& g) { return g.broadcast(v, o); });
    } catch (const std::exception& e) {
      lost(e, "a broadcast from rank 0");
    }
    wait(w, "a broadcast from rank 0");
  }
}

namespace {
struct AllReduceSum : public torch::autograd::Function<AllReduceSum> {
  static torch::Tensor forward(torch::autograd::AutogradContext*, torch::Tensor x) {
    torch::Tensor y = x.clone();
    dist_allreduce_(y);
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext*,
                                                 torch::autograd::variable_list grad) {
    torch::Tensor g = grad[0].contiguous().clone();
    dist_allreduce_(g);
    return {g};
  }
};
}  // namespace

torch::Tensor dist_allreduce_autograd(const torch::Tensor& x) {
  if (!g_info.active()) return x;
  return AllReduceSum::apply(x);
}

void dist_allreduce_grads(const std::vector<torch::Tensor>& params) {
  if (!g_info.active()) return;
  // One flat buffer per device and dtype (a GPU's weights, the host's pruning gates), in the
  // order of first appearance: the same on every worker.
  std::vector<std::vector<const torch::Tensor*>> groups;
  for (const torch::Tensor& p : params) {
    auto same = std::find_if(groups.begin(), groups.end(), [&](const auto& g) {
      return g[0]->device() == p.device() && g[0]->scalar_type() == p.scalar_type();
    });
    if (same == groups.end()) groups.push_back({&p});
    else same->push_back(&p);
  }
  for (const auto& group : groups) {
    std::vector<torch::Tensor> flat;
    for (const torch::Tensor* p : group)
      flat.push_back(p->grad().defined() ? p->grad().reshape({-1}) : torch::zeros({p->numel()}, p->options()));
    torch::Tensor all = torch::cat(flat);
    dist_allreduce_(all);
    int64_t at = 0;
    for (const torch::Tensor* p : group) {
      const int64_t n = p->numel();
      torch::Tensor part = all.narrow(0, at, n).view(p->sizes());
      if (p->grad().defined()) p->mutable_grad().copy_(part);
      else p->mutable_grad() = part.clone();
      at += n;
    }
  }
}

void dist_sum(std::vector<double>& values) {
  if (!g_info.active() || values.empty()) return;
  torch::Tensor t = torch::tensor(values, torch::kDouble);
  dist_allreduce_(t);
  for (size_t i = 0; i < values.size(); ++i) values[i] = t[int64_t(i)].item<double>();
}

void dist_sum(std::vector<int64_t>& values) {
  if (!g_info.active() || values.empty()) return;
  torch::Tensor t = torch::tensor(values, torch::kLong);
  dist_allreduce_(t);
  const int64_t* p = t.data_ptr<int64_t>();
  for (size_t i = 0; i < values.size(); ++i) values[i] = p[i];
}

std::string dist_broadcast(const std::string& text) {
  if (!g_info.active()) return text;
  std::vector<torch::Tensor> n{torch::tensor({int64_t(text.size())}, torch::kLong)};
  dist_broadcast_(n);
  const int64_t size = n[0].item<int64_t>();
  std::vector<torch::Tensor> bytes{torch::zeros({std::max<int64_t>(size, 1)}, torch::kUInt8)};
  if (g_info.rank == 0) std::memcpy(bytes[0].data_ptr<uint8_t>(), text.data(), text.size());
  dist_broadcast_(bytes);
  return std::string(reinterpret_cast<const char*>(bytes[0].data_ptr<uint8_t>()), size_t(size));
}

std::string dist_rank0_ready(const std::string& from_rank0) {
  if (!g_info.active()) return from_rank0;
  try {
    return dist_broadcast(from_rank0);
  } catch (const UserError&) {
    if (g_info.rank == 0) throw;
    throw UserError("rank 0 stopped before the run began (its error says why); worker " + std::to_string(g_info.rank) +
                    " stops too, having written nothing");
  }
}

void dist_barrier() {
  std::vector<int64_t> one{1};
  dist_sum(one);
}

void dist_check_same(const std::string& text, const std::string& what) {
  if (!g_info.active()) return;
  const std::string root = dist_broadcast(text);
  std::vector<int64_t> differs(size_t(g_info.world), 0);
  differs[size_t(g_info.rank)] = root != text;
  dist_sum(differs);
  for (int r = 0; r < g_info.world; ++r)
    if (differs[size_t(r)])
      throw UserError("worker " + std::to_string(r) + " has another " + what + " than rank 0; start every worker "
                      "with the same command (mcuprune launch does)");
}

}  // namespace mcuprune
