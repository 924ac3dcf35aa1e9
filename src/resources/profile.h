// What a model costs on a board: one row per deployed operator in execution order
// (output shape, parameters, flash, MACs, latency, live memory with the bottleneck), totals
// under the given and the optimal operator order, and whether each budget holds.
#pragma once

#include <algorithm>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "resources/board.h"
#include "resources/budget.h"
#include "resources/deployed.h"
#include "resources/memory.h"
#include "resources/patch.h"

namespace mcuprune {

struct ProfileOptions {
  bool optimal_order = true;
  bool inplace_add = false;
  std::string runtime;        // empty: the board's
  Budgets budgets;            // explicit budgets
  bool board_budgets = true;  // the board's RAM/flash apply where no explicit budget is given
  // The model is written in a format whose conv/pool operators pad themselves (ONNX, C
  // source): no PAD operators even under a TFLite runtime (RuntimeProfile::tflite_format).
  bool native_padding = false;
  // Patch-based execution of the first stage (resources/patch.h): "none", "auto" or
  // "RxC@TENSOR"; auto keeps MACs within (1 + patch_max_overhead) x layer by layer.
  std::string patch = "none";
  double patch_max_overhead = 0.2;
  // Kernels with scratch (RuntimeProfile::kernel_scratch_buffers): -1 where the RAM budget allows
  // (the default), 0 never, 1 always.
  int kernel_scratch = -1;
};

// The budgets in force: explicit ones, plus the board's RAM and flash where not given
// (when board_budgets).
Budgets effective_budgets(const Board& board, const ProfileOptions& opt);

struct OpRow {
  int op = 0;  // deployed op index
  std::string name, kind;
  Shape out;
  std::vector<std::string> fused;  // names of folded/fused IR nodes
  int64_t params = 0, flash_bytes = 0, macs = 0, element_ops = 0, scratch_bytes = 0;
  double latency_ms = 0;
  int64_t live_bytes = 0;              // memory at this step
  std::vector<int> live_tensors;       // tensors live at this step
  std::vector<int64_t> live_bytes_of;  // their bytes (a patch window: the window's buffer)
  std::vector<char> live_window;       // whether each is a patch window (else the whole tensor)
  bool patched = false;                // runs in the patch stage: figures for all patches, live for one
  bool bottleneck = false;
  // The instruction model's figures (formulas.h OpCosts) and its prediction (runtimes with
  // one): output values, im2col column values, output pixels, the kernel's scratch path, the
  // invocations (patches for a stage op) and the instructions.
  int64_t outputs = 0, columns = 0, pixels = 0, calls = 1, edge_outputs = 0, channels = 0, kernel_macs = 0;
  bool scratch_kernel = false;
  double instructions = 0;
};

struct Profile {
  std::shared_ptr<const Graph> graph;
  DeployedGraph deployed;
  Board board;
  RuntimeProfile runtime;
  ProfileOptions options;
  std::vector<OpRow> rows;  // execution order
  int64_t params = 0, flash_bytes = 0, macs = 0, element_ops = 0;
  int64_t persistent_ram_bytes = 0;  // runtime RAM besides the activations
  double latency_ms = 0;
  double instructions = 0;  // per inference, runtimes with an instruction model (0 otherwise)
  // With a TFLM runtime profile: the simulated planner's head (>= the peak) and tail.
  int64_t tflm_head_bytes = 0;
  std::vector<std::pair<std::string, int64_t>> tflm_tail_items;
  int64_t ram_bytes() const { return std::max(used.peak_bytes, tflm_head_bytes) + persistent_ram_bytes; }
  MemorySchedule given, optimal, used;  // `used` is the one the rows follow
  // With a patch plan, `used` is the plan's schedule; given and optimal stay layer by layer.
  std::optional<PatchFigures> patch;
  std::string patch_note;               // why no plan is used, when one was asked for
  std::string kernel_note;              // which conv kernels run (runtimes with a choice)
  std::vector<int64_t> op_scratch_bytes;  // by deployed op: the kernel scratch planned while it runs
  int patch_cuts_tried = 0, patch_plans_tried = 0;
  double optimal_search_ms = 0;          // wall time of the optimal-order search
  std::vector<BudgetCheck> budgets;
  bool fits() const;
  ResourceUse use() const;  // the totals
};

// "RxC@CUT": the --patch value that selects plan g (profile, prune, export --format c, deploy).
std::string patch_spec(const DeployedGraph& d, const PatchGeometry& g);
// Printed wherever a plan is used: how the C export and deploy get the same plan.
std::string patch_deploy_note(const DeployedGraph& d, const PatchGeometry& g);

Profile profile_graph(const Graph& g, const Board& board, const ProfileOptions& opt);
nlohmann::json profile_to_json(const Profile& p);
std::string profile_table(const Profile& p);
std::string memory_timeline(const Profile& p, int width = 48);

}  // namespace mcuprune
