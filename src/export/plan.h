// Static memory plan of a model's activation tensors for the C runtime: every tensor gets a
// fixed byte offset in one arena, and two tensors share bytes only if their lifetimes under
// the execution order do not overlap. The resource model's peak SRAM (resources/memory.h,
// no scratch, no in-place add) is a lower bound on any plan's arena; the planner tries
// several greedy placements and keeps the smallest, which on CNNs reaches that bound.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "resources/deployed.h"
#include "resources/patch.h"

namespace mcuprune {

struct PlannedTensor {
  int tensor = -1;  // index into the deployed graph's tensors (-1: a patch plan's window copy)
  std::string name;
  int64_t bytes = 0, offset = 0;
  int first = 0, last = 0;  // steps of the order during which it is live (inclusive)
};

struct MemoryPlan {
  std::vector<int> order;  // op indices in execution order
  std::vector<PlannedTensor> tensors;  // by tensor index, then a patch plan's window copies
  int64_t arena_bytes = 0;
  // With a patch plan: steps [0, stage_steps) are one patch's (the stage's ops in order);
  // stage tensors other than the cut are window buffers; with more than one column of
  // patches, input_window and cut_window index the copies of the input's and the cut's windows.
  bool patched = false;
  int stage_steps = 0, input_window = -1, cut_window = -1;
  int64_t predicted_peak_bytes = 0;  // the resource model's peak for this order
  // By deployed op: its kernel scratch buffer (an index into tensors, live at the op's step),
  // or -1.
  std::vector<int> op_scratch;
  std::string placement;             // which greedy placement gave the arena
};

// Plans the tensors of d for `order` (a topological order of d's ops), and the kernel scratch
// of each op (`scratch_bytes` by op, empty: none) at its step.
MemoryPlan plan_memory(const DeployedGraph& d, const std::vector<int>& order,
                       const std::vector<int64_t>& scratch_bytes = {});
// Plans the buffers of a patch plan (the lifetimes of resources/patch.h's memory model over
// f.schedule's order) and the kernels' scratch; predicted_peak_bytes is the plan's peak
// (f's, which counts the same scratch).
MemoryPlan plan_memory_patched(const DeployedGraph& d, const PatchFigures& f,
                               const std::vector<int64_t>& scratch_bytes = {});

// A table: tensor, bytes, offset, first and last step, and the arena against the peak.
std::string memory_plan_table(const MemoryPlan& p);
nlohmann::json memory_plan_json(const MemoryPlan& p);

}  // namespace mcuprune
