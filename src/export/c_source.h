// C source export of a quantised model for the mcuprune C runtime (runtime/): the model's
// constants (weights, biases, per-channel multipliers and shifts, kernel parameters) as
// const arrays that the linker places in flash, the operator table in the order that
// minimises peak SRAM, and one static arena sized and planned ahead (export/plan.h).
#pragma once

#include <map>
#include <string>

#include "export/plan.h"
#include "quant/quantize.h"

namespace mcuprune {

struct CSource {
  std::map<std::string, std::string> files;  // "model.h", "model.c", "README.md"
  MemoryPlan plan;
  int64_t constant_bytes = 0;  // the model's const data (weights, tables, parameters)
};

// q's graph must be folded. Throws UserError naming the node for what the runtime cannot run.
CSource export_c(const QuantizedModel& q, const std::string& description);

}  // namespace mcuprune
