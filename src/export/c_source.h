// C source export of a quantised model for the mcuprune C runtime (runtime/): the model's
// constants (weights, biases, per-channel multipliers and shifts, kernel parameters) as
// const arrays that the linker places in flash, the operator table in the order that
// minimises peak SRAM, and one static arena sized and planned ahead (export/plan.h).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "export/plan.h"
#include "resources/board.h"
#include "quant/quantize.h"

namespace mcuprune {

struct CSourceOptions {
  // Patch-based execution of the first stage (resources/patch.h): "none", "auto" (the plan
  // of `profile --runtime mcuprune --patch auto`) or "RxC@TENSOR".
  std::string patch = "none";
  double patch_max_overhead = 0.2;
  // The board whose RAM budget decides which kernels take scratch, and the plan's latency
  // figures (none: nucleo-f446re).
  std::optional<Board> board;
  int kernel_scratch = -1;  // ProfileOptions::kernel_scratch
};

struct CSource {
  std::map<std::string, std::string> files;  // "model.h", "model.c", "README.md"
  MemoryPlan plan;
  int64_t constant_bytes = 0;  // the model's const data (weights, tables, parameters)
  std::optional<PatchFigures> patch;  // the plan the model runs with, if any
  std::string patch_note;              // why --patch auto found no plan
  std::string kernel_note;             // which conv kernels the export plans scratch for
};

// q's graph must be folded. Throws UserError naming the node for what the runtime cannot run.
CSource export_c(const QuantizedModel& q, const std::string& description, const CSourceOptions& opt = {});

// Lines for a command's summary: the plan the export runs with (or why auto found none);
// empty without either.
std::string patch_plan_summary(const CSource& src);

}  // namespace mcuprune
