// Built-in boards and runtime profiles, and the board JSON format. The source of every
// number is given in docs/resources.md.
#include "resources/board.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "graph/graph.h"
#include "graph/graph_json.h"
#include "graph/io.h"

namespace mcuprune {

using nlohmann::json;

namespace {

constexpr int64_t KiB = 1024;

// Cortex-M7 + CMSIS-NN: whole-network CMSIS-NN latencies measured on an STM32H743
// (TinyEngine README: mcunet in0 6.4 M MACs 51 ms, in1 12.8 M MACs 103 ms, vww0 6.0 M MACs
// 53 ms; at 480 MHz that is 3.8-4.2 cycles/MAC for MobileNet-like networks). Split between
// pointwise/standard conv and depthwise by our estimate (depthwise does ~1.7x the cycles
// per MAC: less reuse per loaded byte). Element-op and fixed costs are estimates.
LatencyCoefficients cortex_m7() {
  LatencyCoefficients k;
  k.conv_cycles_per_mac = 3.5;
  k.depthwise_cycles_per_mac = 6.0;
  k.dense_cycles_per_mac = 3.5;
  k.pool_cycles_per_op = 2.0;
  k.eltwise_cycles_per_op = 6.0;
  k.op_fixed_cycles = 5000;
  k.source = "fit to measured CMSIS-NN latencies on STM32H743 (TinyEngine README); "
             "depthwise split, element ops and fixed cost estimated";
  // mcuprune's runtime: instructions (fitted on QEMU) x cycles per instruction. The M7's dual
  // issue retires some pairs in one cycle; an estimate, not measured on a board.
  k.cycles_per_instruction = 0.8;
  return k;
}

// Cortex-M4 + CMSIS-NN: the M7 figures x1.3 (estimate: single-issue pipeline, no cache).
// Cortex-M4: conv (and dense) cycles per MAC fitted to one published whole-network
// measurement, MLPerf Tiny v1.0 closed, NUCLEO-L4R5ZI (Cortex-M4, 120 MHz, TFLite Micro with
// CMSIS-NN): ResNet-8 (image classification) 226.9 ms = 27.23 M cycles for 12.50 M conv MACs,
// after the element-wise ops and per-operator costs below. Checked, not fitted: DS-CNN
// (keyword spotting) 75.1 ms published, 62.0 ms predicted (docs/resources.md). The other
// coefficients are the Cortex-M7 estimates x1.3 (single issue).
LatencyCoefficients cortex_m4() {
  LatencyCoefficients k = cortex_m7();
  k.depthwise_cycles_per_mac *= 1.3;
  k.pool_cycles_per_op *= 1.3;
  k.eltwise_cycles_per_op *= 1.3;
  k.op_fixed_cycles *= 1.3;
  k.conv_cycles_per_mac = 2.152;
  k.dense_cycles_per_mac = 2.152;
  // mcuprune's runtime: single issue; loads take 2 cycles (LDRD 3), SMLAD and ALU ops 1,
  // taken branches 2-4: about 1.25 cycles per instruction in its kernels' loops (an
  // estimate from the Cortex-M4 TRM's timings, not measured on a board).
  k.cycles_per_instruction = 1.25;
  k.source = "conv/dense fitted to MLPerf Tiny v1.0 ResNet-8 on NUCLEO-L4R5ZI (226.9 ms); checked on DS-CNN "
             "(75.1 ms published, 62.0 ms predicted); depthwise, element ops and fixed cost: cortex-m7 x1.3, estimated";
  return k;
}

// Cortex-M0+: no DSP extension (no SMLAD), 2-cycle loads: ~4-6 instructions per MAC in
// the plain C kernels. Estimate; no published measurement found.
LatencyCoefficients cortex_m0plus() {
  LatencyCoefficients k;
  k.conv_cycles_per_mac = 10.0;
  k.depthwise_cycles_per_mac = 14.0;
  k.dense_cycles_per_mac = 10.0;
  k.pool_cycles_per_op = 4.0;
  k.eltwise_cycles_per_op = 12.0;
  k.op_fixed_cycles = 8000;
  k.source = "estimate from instruction counts of scalar int8 kernels; not measured";
  // No DSP extension: mcuprune's runtime runs its portable kernels; 2-cycle loads, 1-cycle
  // multiplier: about 1.3 cycles per instruction (estimate).
  k.cycles_per_instruction = 1.3;
  k.dsp = false;
  return k;
}

Board make(const std::string& name, const std::string& desc, const std::string& core, double mhz,
           int64_t sram, int64_t flash, const std::string& note, LatencyCoefficients k) {
  Board b;
  b.name = name;
  b.description = desc;
  b.core = core;
  b.clock_mhz = mhz;
  b.sram_bytes = sram;
  b.flash_bytes = flash;
  // Default reservations: room for stack, heap and the application's data in SRAM, and
  // for the application, the runtime and its kernels in flash (docs/resources.md).
  b.reserved_ram_bytes = std::min<int64_t>(32 * KiB, sram / 8);
  b.reserved_flash_bytes = std::min<int64_t>(128 * KiB, flash / 4);
  b.memory_note = note;
  b.latency = std::move(k);
  return b;
}

}  // namespace

const std::vector<Board>& builtin_boards() {
  static const std::vector<Board> boards = {
      make("nucleo-f446re", "ST NUCLEO-F446RE (STM32F446RE)", "cortex-m4", 180, 128 * KiB,
           512 * KiB, "128 KB SRAM (SRAM1 112 KB + SRAM2 16 KB, contiguous)", cortex_m4()),
      make("nucleo-l4r5zi", "ST NUCLEO-L4R5ZI (STM32L4R5ZI), the MLPerf Tiny reference board", "cortex-m4", 120,
           640 * KiB, 2048 * KiB, "640 KB SRAM (SRAM1 192 KB + SRAM2 64 KB + SRAM3 384 KB, contiguous)",
           cortex_m4()),
      make("nucleo-f746zg", "ST NUCLEO-F746ZG (STM32F746ZG)", "cortex-m7", 216, 320 * KiB,
           1024 * KiB, "320 KB SRAM (DTCM 64 KB + SRAM1 240 KB + SRAM2 16 KB, contiguous)",
           cortex_m7()),
      make("nucleo-f767zi", "ST NUCLEO-F767ZI (STM32F767ZI)", "cortex-m7", 216, 512 * KiB,
           2048 * KiB, "512 KB SRAM (DTCM 128 KB + SRAM1 368 KB + SRAM2 16 KB, contiguous)",
           cortex_m7()),
      make("nucleo-h743zi", "ST NUCLEO-H743ZI (STM32H743ZI)", "cortex-m7", 480, 512 * KiB,
           2048 * KiB,
           "counts the 512 KB AXI SRAM only (the largest contiguous region; DTCM 128 KB, "
           "SRAM1-3 288 KB and SRAM4 64 KB are separate regions)",
           cortex_m7()),
      make("arduino-nano-33-ble", "Arduino Nano 33 BLE (nRF52840)", "cortex-m4", 64, 256 * KiB,
           1024 * KiB, "256 KB SRAM", cortex_m4()),
      make("nucleo-l432kc", "ST NUCLEO-L432KC (STM32L432KC), a small Cortex-M4F board for keyword spotting",
           "cortex-m4", 80, 64 * KiB, 256 * KiB,
           "64 KB SRAM (SRAM1 48 KB + SRAM2 16 KB, contiguous at 0x20000000)", cortex_m4()),
      make("rp2040", "Raspberry Pi RP2040 (e.g. Pico)", "cortex-m0plus", 133, 264 * KiB,
           2048 * KiB, "264 KB SRAM (4 x 64 KB striped + 2 x 4 KB); 2 MB external QSPI flash",
           cortex_m0plus()),
  };
  return boards;
}

// The instruction model of mcuprune's C runtime (InstructionModel): coefficients fitted by
// bench/fit_instructions.py to the operators of bench/deploy.py's runs on QEMU (every zoo model,
// pruned and unpruned, layer by layer and in patches) and, for the scratch-free conv and dense
// paths, to bench/kernels.sh's layers; bench/results/instruction_model.md has the fit and
// its check. Order of each initializer: per MAC, output, column value, pixel, element, fixed,
// edge output, channel.
static void set_mcuprune_instructions(RuntimeProfile& m) {
  m.instructions_dsp.source = m.instructions_portable.source =
      "fitted to instructions measured on QEMU mps2-an386 (bench/fit_instructions.py)";
  m.instructions_dsp.conv = {1.03004, 26.8762, 2.08171, 382.954, 0, 0, 41.5962, 63.9006};  // 256 ops
  m.instructions_dsp.conv_plain = {1.4211, 114.884, 0, 0, 0, 223.311, 0, 0};  // 43 ops
  m.instructions_dsp.depthwise = {1.38858, 19.8487, 0, 0, 0, 5442.12, 28.2358, 133.409};  // 84 ops
  m.instructions_dsp.dense = {1.33953, 59.7041, 3.64981, 0, 0, 27.6316, 0, 0};  // 28 ops
  m.instructions_dsp.dense_plain = {2.14021, 36.349, 0, 0, 0, 320.704, 0, 0};  // 5 ops
  m.instructions_dsp.pool = {0, 0, 0, 0, 5.03372, 0, 0, 0};  // 24 ops
  m.instructions_dsp.mean = {0, 18.0055, 0, 0, 6.00136, 51.144, 0, 0};  // 12 ops
  m.instructions_dsp.add = {0, 0, 0, 0, 38.1372, 828.344, 0, 0};  // 52 ops
  m.instructions_dsp.copy = {0, 0, 0, 0, 1.93797, 202.131, 0, 0};  // 12 ops
  m.instructions_portable.conv = {1.93483, 46.9419, 13.6888, 0, 0, 0, 0, 0};  // 256 ops
  m.instructions_portable.conv_plain = {2.50702, 159.037, 0, 0, 0, 0, 0, 0};  // 44 ops
  m.instructions_portable.depthwise = {0, 88.0684, 0, 0, 0, 5744.87, 0.317145, 104.425};  // 84 ops
  m.instructions_portable.dense = {3.32924, 62.7599, 0, 0, 0, 0, 0, 0};  // 28 ops
  m.instructions_portable.dense_plain = {5.51419, 0, 0, 0, 0, 561.044, 0, 0};  // 5 ops
  m.instructions_portable.pool = {0, 0, 0, 0, 14.4914, 0, 0, 0};  // 24 ops
  m.instructions_portable.mean = {0, 18.0036, 0, 0, 5.99864, 66.3198, 0, 0};  // 12 ops
  m.instructions_portable.add = {0, 0, 0, 0, 38.16, 814.916, 0, 0};  // 52 ops
  m.instructions_portable.copy = {0, 0, 0, 0, 1.87652, 248.202, 0, 0};  // 12 ops
  // No zoo model runs a lone ReLU or a softmax on the device: estimates (a clamp per value
  // and a copy's fixed cost; a float exponential per value). The front end: 58,026
  // instructions per 20 ms frame (bench/results/kws_frontend.md) over its 6,761 multiplies.
  for (InstructionModel* x : {&m.instructions_dsp, &m.instructions_portable}) {
    x->clamp = {0, 0, 0, 0, 6, 200, 0, 0};
    x->softmax = {0, 0, 0, 0, 150, 300, 0, 0};
  }
  m.instructions_dsp.front_end = {0, 0, 0, 0, 0, 0, 0, 0};  // 0 ops
  m.instructions_portable.front_end = {0, 0, 0, 0, 0, 0, 0, 0};  // 0 ops
}

const std::vector<RuntimeProfile>& builtin_runtimes() {
  static const std::vector<RuntimeProfile> r = [] {
    RuntimeProfile cmsis;
    cmsis.name = "cmsis-nn";
    cmsis.description = "TFLite Micro with CMSIS-NN kernels (im2col scratch for conv, "
                        "depthwise other than 3x3, average pool)";
    cmsis.im2col_scratch = true;
    // Flatbuffer sizes, estimated from the encoding rules (docs/resources.md); the TFLite
    // exporter's files are the check.
    cmsis.model_overhead_bytes = 1024;
    cmsis.op_overhead_bytes = 80;
    cmsis.tensor_overhead_bytes = 80;
    RuntimeProfile ref = cmsis;
    ref.name = "reference";
    ref.description = "TFLite Micro reference kernels (no scratch except MEAN's accumulators)";
    ref.im2col_scratch = false;
    // mcuprune's C runtime (runtime/, export --format c): the requantisation tables are
    // constants in flash, the only RAM is the planned arena (its size is the peak), no
    // scratch but the conv kernel's. Flash per operator: its parameter struct and table entry on
    // a 32-bit core (conv 96 + 24 bytes; docs/deploy.md); the model struct once.
    RuntimeProfile mp;
    mp.name = "mcuprune";
    mp.description = "mcuprune's C runtime (export --format c): constants in flash, one planned arena (conv im2col "
                     "scratch in it while the RAM budget allows)";
    mp.im2col_scratch = false;
    mp.kernel_scratch_buffers = true;
    mp.mean_scratch = false;
    mp.model_overhead_bytes = 64;
    mp.op_overhead_bytes = 120;
    mp.tensor_overhead_bytes = 0;
    mp.quant_param_bytes = 0;
    mp.quant_table_bytes = 0;
    mp.requant_bytes_per_channel = 0;
    mp.tensor_ram_bytes = 0;
    mp.flash_requant_bytes_per_channel = 8;
    mp.tflite_format = false;
    mp.patch_execution = true;
    mp.has_instruction_model = true;
    set_mcuprune_instructions(mp);
    // TFLite Micro itself: RAM simulated from its allocation rules (resources/tflm.h).
    RuntimeProfile tflm = ref;
    tflm.name = "tflm";
    tflm.description = "TFLite Micro, reference kernels: arena simulated (greedy planner head + persistent tail)";
    tflm.tflm_arena = true;
    tflm.mean_scratch = false;  // global average pooling is exported as AVERAGE_POOL_2D
    RuntimeProfile tflm_cmsis = cmsis;
    tflm_cmsis.name = "tflm-cmsis-nn";
    tflm_cmsis.description = "TFLite Micro, CMSIS-NN kernels: arena simulated, CMSIS-NN scratch buffers planned";
    tflm_cmsis.tflm_arena = true;
    tflm_cmsis.mean_scratch = false;
    return std::vector<RuntimeProfile>{cmsis, ref, mp, tflm, tflm_cmsis};
  }();
  return r;
}

const RuntimeProfile& find_runtime(const std::string& name) {
  for (const auto& r : builtin_runtimes())
    if (r.name == name) return r;
  throw UserError("unknown runtime '" + name + "'; known runtimes: cmsis-nn, reference, tflm, tflm-cmsis-nn, mcuprune");
}

json board_to_json(const Board& b) {
  const LatencyCoefficients& k = b.latency;
  return {{"name", b.name},
          {"description", b.description},
          {"core", b.core},
          {"clock_mhz", b.clock_mhz},
          {"sram_bytes", b.sram_bytes},
          {"flash_bytes", b.flash_bytes},
          {"reserved_ram_bytes", b.reserved_ram_bytes},
          {"reserved_flash_bytes", b.reserved_flash_bytes},
          {"memory_note", b.memory_note},
          {"runtime", b.runtime},
          {"latency",
           {{"conv_cycles_per_mac", k.conv_cycles_per_mac},
            {"depthwise_cycles_per_mac", k.depthwise_cycles_per_mac},
            {"dense_cycles_per_mac", k.dense_cycles_per_mac},
            {"pool_cycles_per_op", k.pool_cycles_per_op},
            {"eltwise_cycles_per_op", k.eltwise_cycles_per_op},
            {"op_fixed_cycles", k.op_fixed_cycles},
            {"cycles_per_instruction", k.cycles_per_instruction},
            {"dsp", k.dsp},
            {"source", k.source}}}};
}

namespace {
Board find_board_at_depth(const std::string& name_or_path, int depth);
constexpr int kMaxBaseDepth = 8;
}  // namespace

Board board_from_json(const json& j, const std::string& where) { return board_from_json(j, where, 0); }

Board board_from_json(const json& j, const std::string& where, int depth) {
  const std::string at = "board file '" + where + "': ";
  if (!j.is_object()) throw UserError(at + "expected a JSON object");
  Board b;
  // A board file may start from a built-in board or another board file ("base") and override fields.
  if (j.contains("base")) {
    if (!j["base"].is_string()) throw UserError(at + "\"base\" must be a board name");
    if (depth >= kMaxBaseDepth)
      throw UserError(at + "its chain of \"base\" boards is longer than " + std::to_string(kMaxBaseDepth) +
                      " (does a board name itself as its base?)");
    // A base that is a file is found beside the file that names it (not in the working
    // directory); errors name the file that refers to it.
    std::string base = j["base"].get<std::string>();
    bool builtin = false;
    for (const auto& known : builtin_boards()) builtin = builtin || known.name == base;
    const std::filesystem::path bp(base);
    if (!builtin && bp.is_relative()) base = (std::filesystem::path(where).parent_path() / bp).string();
    try {
      b = find_board_at_depth(base, depth + 1);
    } catch (const UserError& e) {
      throw UserError(at + "its \"base\": " + e.what());
    }
  }
  static const std::vector<std::string> keys = {
      "base", "name", "description", "core", "clock_mhz", "sram_bytes", "flash_bytes",
      "reserved_ram_bytes", "reserved_flash_bytes", "memory_note", "runtime", "latency"};
  for (auto it = j.begin(); it != j.end(); ++it)
    if (std::find(keys.begin(), keys.end(), it.key()) == keys.end())
      throw UserError(at + "unknown key '" + it.key() +
                      "'; allowed: base, name, description, core, clock_mhz, sram_bytes, "
                      "flash_bytes, reserved_ram_bytes, reserved_flash_bytes, memory_note, "
                      "runtime, latency");
  try {
    auto get_str = [&](const char* k, std::string& v) {
      if (j.contains(k)) v = j.at(k).get<std::string>();
    };
    auto get_int = [&](const char* k, int64_t& v) {
      if (!j.contains(k)) return;
      if (!j[k].is_number_integer()) throw UserError(at + "'" + k + "' must be an integer (bytes)");
      v = j[k].get<int64_t>();
    };
    get_str("name", b.name);
    get_str("description", b.description);
    get_str("core", b.core);
    get_str("memory_note", b.memory_note);
    get_str("runtime", b.runtime);
    if (j.contains("clock_mhz")) b.clock_mhz = j.at("clock_mhz").get<double>();
    get_int("sram_bytes", b.sram_bytes);
    get_int("flash_bytes", b.flash_bytes);
    get_int("reserved_ram_bytes", b.reserved_ram_bytes);
    get_int("reserved_flash_bytes", b.reserved_flash_bytes);
    if (j.contains("latency")) {
      const json& l = j["latency"];
      if (!l.is_object()) throw UserError(at + "\"latency\" must be an object");
      LatencyCoefficients& k = b.latency;
      static const std::vector<std::string> lkeys = {
          "conv_cycles_per_mac", "depthwise_cycles_per_mac", "dense_cycles_per_mac",
          "pool_cycles_per_op", "eltwise_cycles_per_op", "op_fixed_cycles", "cycles_per_instruction", "dsp",
          "source"};
      for (auto it = l.begin(); it != l.end(); ++it)
        if (std::find(lkeys.begin(), lkeys.end(), it.key()) == lkeys.end())
          throw UserError(at + "unknown latency key '" + it.key() + "'");
      k.conv_cycles_per_mac = l.value("conv_cycles_per_mac", k.conv_cycles_per_mac);
      k.depthwise_cycles_per_mac = l.value("depthwise_cycles_per_mac", k.depthwise_cycles_per_mac);
      k.dense_cycles_per_mac = l.value("dense_cycles_per_mac", k.dense_cycles_per_mac);
      k.pool_cycles_per_op = l.value("pool_cycles_per_op", k.pool_cycles_per_op);
      k.eltwise_cycles_per_op = l.value("eltwise_cycles_per_op", k.eltwise_cycles_per_op);
      k.op_fixed_cycles = l.value("op_fixed_cycles", k.op_fixed_cycles);
      k.cycles_per_instruction = l.value("cycles_per_instruction", k.cycles_per_instruction);
      k.dsp = l.value("dsp", k.dsp);
      k.source = l.value("source", j.contains("base") ? k.source : std::string("board file"));
    }
  } catch (const json::exception& e) {
    throw UserError(at + "bad value: " + e.what());
  }
  if (!j.contains("name") || b.name.empty())
    throw UserError(at + "\"name\" is required (a board based on another needs a name of its own), e.g. "
                    "\"name\": \"my-board\"");
  // Bounds far beyond any microcontroller, so that no figure computed from them overflows.
  if (!(b.clock_mhz > 0 && b.clock_mhz <= 1e4)) throw UserError(at + "\"clock_mhz\" must be a number in (0, 10000]");
  if (b.sram_bytes > (int64_t(1) << 40) || b.flash_bytes > (int64_t(1) << 40))
    throw UserError(at + "\"sram_bytes\" and \"flash_bytes\" must be at most 1 TiB");
  if (b.sram_bytes <= 0 || b.flash_bytes <= 0)
    throw UserError(at + "\"sram_bytes\" and \"flash_bytes\" must be > 0");
  if (b.reserved_ram_bytes < 0 || b.reserved_ram_bytes >= b.sram_bytes)
    throw UserError(at + "\"reserved_ram_bytes\" must be in [0, sram_bytes)");
  if (b.reserved_flash_bytes < 0 || b.reserved_flash_bytes >= b.flash_bytes)
    throw UserError(at + "\"reserved_flash_bytes\" must be in [0, flash_bytes)");
  const LatencyCoefficients& k = b.latency;
  for (double v : {k.conv_cycles_per_mac, k.depthwise_cycles_per_mac, k.dense_cycles_per_mac,
                   k.pool_cycles_per_op, k.eltwise_cycles_per_op})
    if (!(v >= 0 && v <= 1e4)) throw UserError(at + "latency cycles per MAC or per operation must be numbers in [0, 10000]");
  if (!(k.op_fixed_cycles >= 0 && k.op_fixed_cycles <= 1e9))
    throw UserError(at + "\"op_fixed_cycles\" must be a number in [0, 1e9]");
  if (!(k.cycles_per_instruction > 0 && k.cycles_per_instruction <= 100))
    throw UserError(at + "\"cycles_per_instruction\" must be a number in (0, 100]");
  try {
    find_runtime(b.runtime);
  } catch (const UserError& e) {
    throw UserError(at + e.what());
  }
  return b;
}

Board find_board(const std::string& name_or_path) { return find_board_at_depth(name_or_path, 0); }

namespace {
Board find_board_at_depth(const std::string& name_or_path, int depth) {
  for (const auto& b : builtin_boards())
    if (b.name == name_or_path) return b;
  if (std::filesystem::is_regular_file(name_or_path)) {
    json j;
    try {
      j = parse_json_text(read_file(name_or_path), name_or_path);
    } catch (const UserError& e) {
      throw UserError(std::string("board file ") + e.what());
    }
    return board_from_json(j, name_or_path, depth);
  }
  std::string list;
  for (const auto& b : builtin_boards()) list += (list.empty() ? "" : ", ") + b.name;
  throw UserError("unknown board '" + name_or_path + "'; built-in boards: " + list +
                  " (or a board JSON file; see 'mcuprune boards')");
}
}  // namespace

}  // namespace mcuprune
