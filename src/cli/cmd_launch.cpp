// `mcuprune launch --nproc N -- train|prune ...`: N local workers of a data-parallel run, configured
// as torchrun configures them (docs/distributed.md). Ctrl-C reaches the workers once (each
// saves its checkpoint and stops at the same step); a worker that fails ends the run on the
// others (they see "worker lost" within the collective timeout, or are stopped here after the
// grace period); the exit status is the worst worker's.
#include <CLI/CLI.hpp>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <thread>

#include "cli/common.h"

namespace mcuprune {

namespace {

struct LaunchArgs {
  int nproc = 2, port = 0;
  double grace_s = 180;
  std::vector<std::string> command;
};

std::vector<pid_t> g_children;
std::atomic<int> g_forward{0};

void forward_signal(int sig) { g_forward = sig; }

// A port nobody listens on now (the kernel's choice), for rank 0's store.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw UserError(std::string("cannot open a socket to find a free port: ") + std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw UserError("cannot find a free port on 127.0.0.1; give one with --master-port");
  }
  const int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

int status_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

int run_launch(const LaunchArgs& a) {
  if (a.nproc < 1 || a.nproc > 256) throw UserError("--nproc must be from 1 to 256, got " + std::to_string(a.nproc));
  if (a.command.empty())
    throw UserError("give the command to run after --, e.g. mcuprune launch --nproc 2 -- train --model tinycnn ...");
  if (a.command[0] != "train" && a.command[0] != "prune")
    throw UserError("launch runs train or prune (data-parallel); \"" + a.command[0] + "\" runs as one process");
  const int port = a.port > 0 ? a.port : free_port();
  std::vector<std::string> argv_s = {"mcuprune"};
  argv_s.insert(argv_s.end(), a.command.begin(), a.command.end());
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  for (int r = 0; r < a.nproc; ++r) {
    const pid_t pid = ::fork();
    if (pid < 0) throw UserError(std::string("cannot start worker ") + std::to_string(r) + ": " + std::strerror(errno));
    if (pid == 0) {
      ::setpgid(0, 0);  // Ctrl-C at the terminal reaches the launcher, which passes it on once
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(a.nproc).c_str(), 1);
      ::setenv("RANK", std::to_string(r).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
      ::execv("/proc/self/exe", argv.data());
      std::fprintf(stderr, "mcuprune launch: error: cannot start worker %d: %s\n", r, std::strerror(errno));
      std::_Exit(127);
    }
    g_children.push_back(pid);
  }
  ::signal(SIGINT, forward_signal);
  ::signal(SIGTERM, forward_signal);
  std::fprintf(stderr, "launch: %d workers (ranks 0-%d) on 127.0.0.1:%d; rank 0 prints and writes\n", a.nproc,
               a.nproc - 1, port);
  std::vector<int> codes(g_children.size(), -1);
  size_t alive = g_children.size();
  int worst = 0;
  using clock = std::chrono::steady_clock;
  std::optional<clock::time_point> failed_at;
  bool terminated = false, killed = false;
  while (alive > 0) {
    if (const int sig = g_forward.exchange(0)) {
      for (size_t k = 0; k < g_children.size(); ++k)
        if (codes[k] < 0) ::kill(g_children[k], SIGINT);  // each worker checkpoints and stops
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (size_t k = 0; k < g_children.size(); ++k)
        if (g_children[k] == pid) {
          codes[k] = status_code(status);
          --alive;
          worst = std::max(worst, codes[k]);
          if (codes[k] != 0) {
            std::fprintf(stderr, "launch: worker %zu exited with status %d\n", k, codes[k]);
            if (!failed_at) failed_at = clock::now();
          }
        }
      continue;
    }
    // A failed worker: the others stop by themselves ("worker lost"); past the grace period
    // they are stopped here.
    if (failed_at && alive > 0) {
      const double waited = std::chrono::duration<double>(clock::now() - *failed_at).count();
      if (!terminated && waited > a.grace_s) {
        std::fprintf(stderr, "launch: %zu worker(s) still running %.0f s after a failure: stopping them\n", alive, waited);
        for (size_t k = 0; k < g_children.size(); ++k)
          if (codes[k] < 0) ::kill(g_children[k], SIGTERM);
        terminated = true;
      } else if (terminated && !killed && waited > a.grace_s + 10) {
        for (size_t k = 0; k < g_children.size(); ++k)
          if (codes[k] < 0) ::kill(g_children[k], SIGKILL);
        killed = true;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return worst;
}

}  // namespace

void add_launch_command(CLI::App& app) {
  auto a = std::make_shared<LaunchArgs>();
  CLI::App* c = app.add_subcommand(
      "launch",
      "Run a command as N local data-parallel workers on torch's c10d (Gloo): each reads its\n"
      "share of every global batch (N x --batch-size); gradients, BatchNorm statistics and\n"
      "evaluation are combined; rank 0 prints and writes the model, checkpoints and reports.\n"
      "Workers on several machines: start each with --dist-url tcp://RANK0:PORT --world-size N\n"
      "--rank R, or with torchrun's variables (MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK).\n\n"
      "Examples:\n"
      "  mcuprune launch --nproc 2 -- train --model resnet8 --dataset fashion-mnist --batch-size 32 --out runs/r8\n"
      "  mcuprune launch --nproc 2 -- train --resume runs/r8\n"
      "  mcuprune launch --nproc 2 -- prune --model vgg --dataset fashion-mnist --board nucleo-f446re --out runs/p\n");
  c->add_option("--nproc", a->nproc, "workers to start")->capture_default_str();
  c->add_option("--master-port", a->port, "rank 0's port on 127.0.0.1 (default: a free one)");
  c->add_option("--grace", a->grace_s, "seconds the other workers get to stop after one fails")->capture_default_str();
  c->add_option("command", a->command, "the command and its options, after --")->required();
  c->callback([a] {
    const int code = run_launch(*a);
    if (code != 0) std::exit(code);
  });
}

}  // namespace mcuprune
