// Data-parallel runs on torch's c10d (docs/distributed.md): one process per worker, a TCPStore
// for the rendezvous and a Gloo process group for the collectives. Configured the way torchrun
// configures workers (MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK) or with
// --dist-url tcp://HOST:PORT --world-size N --rank R. Without either, the world is one process
// and every function here is a no-op. This header does not include LibTorch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mcuprune {

struct DistOptions {          // the command-line flags
  std::string url;            // tcp://HOST:PORT
  int world_size = -1;        // -1: not given
  int rank = -1;              // -1: not given
  double timeout_s = 120;     // a collective that waits longer ends the run
};

struct DistInfo {
  int world = 1, rank = 0, local_rank = 0;
  std::string host;
  int port = 0;
  double timeout_s = 120;
  std::string source;  // "flags", "environment" or "" (one process)
  bool active() const { return world > 1; }
};

// The flags, else the torchrun environment, else one process. Throws UserError for values
// that are missing, out of range or contradictory, naming the flag or variable.
DistInfo resolve_dist(const DistOptions& flags);
// Joins the process group (rank 0 hosts the store). Throws UserError when the rendezvous fails
// within the timeout (a worker that never came, a port in use).
void init_dist(const DistInfo& info);
const DistInfo& dist();
inline bool is_rank0() { return dist().rank == 0; }

// Collectives on plain values (the tensor ones are in dist_ops.h). A worker that died or a
// collective past the timeout is a UserError on every live worker: "worker lost".
void dist_sum(std::vector<double>& values);
void dist_sum(std::vector<int64_t>& values);
// Rank 0's text on every worker (decisions taken once: surgery, fallbacks, the run's state).
std::string dist_broadcast(const std::string& from_rank0);
void dist_barrier();
// The others wait for rank 0 to open the output directory, and get `from_rank0` (its working
// path). Where rank 0 failed there (its own error says why: a directory in use, a refused
// --force), the others stop with "rank 0 stopped before the run began", not "worker lost".
std::string dist_rank0_ready(const std::string& from_rank0);
// Every worker must give the same text (e.g. the run's configuration); else a UserError that
// names the first worker that differs and `what`.
void dist_check_same(const std::string& text, const std::string& what);

}  // namespace mcuprune
