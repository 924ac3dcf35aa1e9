// MCU board profiles (hardware: clock, SRAM, flash, what the application reserves,
// latency coefficients) and runtime profiles (software: which kernels run, their scratch
// buffers, and the model file's fixed overheads). docs/resources.md documents every value
// and where it comes from.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace mcuprune {

// Linear latency model: cycles = sum over ops of (cycles_per_mac[kind] * MACs +
// cycles_per_op[kind] * element ops + op_fixed_cycles). See docs/resources.md.
struct LatencyCoefficients {
  double conv_cycles_per_mac = 0;       // CONV_2D
  double depthwise_cycles_per_mac = 0;  // DEPTHWISE_CONV_2D
  double dense_cycles_per_mac = 0;      // FULLY_CONNECTED
  double pool_cycles_per_op = 0;        // MAX/AVERAGE_POOL_2D, MEAN
  double eltwise_cycles_per_op = 0;     // ADD, activation, softmax, concat/reshape copies
  double op_fixed_cycles = 0;           // per operator invocation
  std::string source;                   // where the numbers come from
  // For runtimes with an instruction model (mcuprune's): cycles per instruction of the core,
  // and whether it has the DSP extension (SMLAD), which selects the kernels' path.
  double cycles_per_instruction = 1.0;
  bool dsp = true;
};

// Instructions of one operator of mcuprune's C runtime, linear in figures of its shape
// (formulas.h OpCosts: MACs, outputs, im2col column values, output pixels, element ops)
// plus a fixed cost per invocation (once per patch for a patch stage's ops).
struct KernelInstructions {
  double per_mac = 0, per_output = 0, per_column = 0, per_pixel = 0, per_element = 0, fixed = 0;
  double per_edge_output = 0;  // outputs whose window reaches into the padding (border path)
  double per_channel = 0;      // output channels (set-up per channel, once per invocation)
};
// Coefficients per operator kind and kernel path, fitted to the instructions `deploy
// --emulate` measures (bench/fit_instructions.py; docs/resources.md).
struct InstructionModel {
  KernelInstructions conv, conv_plain, depthwise, dense, dense_plain, pool, mean, add, copy, clamp, softmax, front_end;
  std::string source;
};

struct Board {
  std::string name, description;
  std::string core;  // "cortex-m4", "cortex-m7", "cortex-m0plus"
  double clock_mhz = 0;
  int64_t sram_bytes = 0;   // the SRAM region the tensor arena lives in
  int64_t flash_bytes = 0;
  int64_t reserved_ram_bytes = 0;    // stack, heap, the application's own data
  int64_t reserved_flash_bytes = 0;  // the application's code and the runtime's code
  std::string memory_note;           // e.g. which SRAM region counts
  std::string runtime = "cmsis-nn";  // default runtime profile
  LatencyCoefficients latency;

  int64_t ram_budget_bytes() const { return sram_bytes - reserved_ram_bytes; }
  int64_t flash_budget_bytes() const { return flash_bytes - reserved_flash_bytes; }
};

// How operators are executed: scratch buffers per kernel and model-file overheads.
struct RuntimeProfile {
  std::string name;  // "cmsis-nn" | "reference" | "tflm" | "tflm-cmsis-nn" | "mcuprune"
  std::string description;
  bool im2col_scratch = true;  // CMSIS-NN style scratch for conv/depthwise/avgpool
  int64_t model_overhead_bytes = 0;   // flatbuffer header, tables, metadata
  int64_t op_overhead_bytes = 0;      // per operator (operator table, options)
  int64_t tensor_overhead_bytes = 0;  // per tensor (tensor table, buffer entry)
  int64_t quant_param_bytes = 12;     // per quantised channel: float32 scale + int64 zero point
  int64_t quant_table_bytes = 32;     // per quantised tensor: the QuantizationParameters table
  int64_t requant_bytes_per_channel = 8;  // RAM: int32 multiplier + int32 shift per channel
  int64_t tensor_ram_bytes = 12;      // RAM: the runtime's struct per tensor (TfLiteEvalTensor)
  int64_t flash_requant_bytes_per_channel = 0;  // flash: multiplier + shift stored as constants
  bool mean_scratch = true;           // MEAN (global average pool) keeps int32 sums per channel
  // RAM from the simulation of TFLite Micro's arena (resources/tflm.h): the greedy planner's
  // head and the persistent tail, in place of the peak + per-channel estimate.
  bool tflm_arena = false;
  // The model runs as mcuprune's TFLite export: explicit padding SAME cannot express is a
  // PAD operator with its own tensor, and what TFLite cannot express is refused
  // (resources/tflite_padding.h). False for mcuprune's C runtime, which pads in the kernels.
  bool tflite_format = true;
  // The runtime can run a patch stage (resources/patch.h): mcuprune's C runtime.
  bool patch_execution = false;
  // mcuprune's conv kernel (runtime/kernels/conv.h): with two im2col columns of int16 in the
  // arena (4 kh kw cin + 3 bytes, while the op runs) it runs two output pixels by two output
  // channels at a time; without them, its scratch-free path. Where the scratch would break the
  // RAM budget, the profile drops it (Profile::kernel_note says which).
  bool kernel_scratch_buffers = false;
  // The runtime's instructions per operator (DSP path and portable path): when set, latency
  // is instructions x the core's cycles per instruction.
  bool has_instruction_model = false;
  InstructionModel instructions_dsp, instructions_portable;
};

const std::vector<Board>& builtin_boards();
// A built-in name or a path to a board JSON file; throws UserError listing the boards.
Board find_board(const std::string& name_or_path);
Board board_from_json(const nlohmann::json& j, const std::string& where);
// depth: how many board files named this one as their base (bounded: cycles are refused).
Board board_from_json(const nlohmann::json& j, const std::string& where, int depth);
nlohmann::json board_to_json(const Board& b);

const std::vector<RuntimeProfile>& builtin_runtimes();
const RuntimeProfile& find_runtime(const std::string& name);  // throws UserError

}  // namespace mcuprune
