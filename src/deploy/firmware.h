// Deployment below the command line: writing an exported model with the deployment harness
// (firmware/), building it for the host or as a Cortex-M4 firmware linked for a board's
// memory map, running it (QEMU mps2-an386 with -icount, or natively) and reading back what it
// measured: sections, SysTick instructions in all and per operator, the stack's high-water
// mark. `mcuprune deploy` drives it; so can benchmarks and other commands. No LibTorch.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "export/c_source.h"
#include "resources/board.h"

namespace mcuprune {

// QEMU's mps2-an386 runs SysTick on the 25 MHz system clock; with -icount shift=0 one
// instruction takes 1 ns of virtual time, so one tick is 40 instructions.
constexpr double kInstructionsPerTick = 1e9 / 25e6;
// The stack takes what the board's application RAM leaves after the harness's data (at most
// kStackBytes, at least kMinStackBytes; the measured high-water mark is reported).
constexpr int64_t kStackBytes = 8192;
constexpr int64_t kMinStackBytes = 2048;

struct CommandResult {
  int status = -1;
  std::string output;  // stdout and stderr
};
// Runs a shell command line; its exit status (128 + signal when killed).
CommandResult run_command(const std::string& cmd);
// A shell word: s in single quotes.
std::string shell_quote(const std::string& s);
// UserError naming the Debian package when `tool` is not on PATH.
void need_tool(const std::string& tool, const std::string& package);
// A board name as a file-name fragment: letters, digits, '.', '_' and '-'.
std::string safe_file_name(const std::string& s);

// The linker script of a firmware for `b`: the model's constants and arena get the board's
// budgets, code, runtime and stack the reserved parts (origins of QEMU's mps2-an386).
std::string linker_script(const Board& b);
// Throws the UserError that explains a failed link ("region ... overflowed"): which budget the
// model or the harness does not fit, by how much, and what to do.
[[noreturn]] void explain_link_failure(const std::string& output, const Board& b, const CSource& src);
// Section sizes of an ELF file (arm-none-eabi-size -A).
std::map<std::string, int64_t> section_sizes(const std::string& elf);

// Writes the export (model/) and the harness (app/) into `dir`.
void write_deploy_sources(const CSource& src, const std::string& dir);

struct BuiltProgram {
  std::string binary;  // the firmware ELF or the host executable
  std::string run;     // the shell command that runs it in `dir` (with the timeout)
  // Firmware only: measured sections.
  int64_t model_flash_bytes = 0, code_bytes = 0, model_ram_bytes = 0, app_data_bytes = 0;
};
// Builds the sources of write_deploy_sources in `dir`: a Cortex-M4 firmware for `board`
// (emulate) or a host program; `portable` leaves out the DSP path. A model that does not fit
// fails to link with explain_link_failure's message.
BuiltProgram build_deploy_program(const CSource& src, const std::string& dir, const Board& board, bool emulate,
                                  bool portable, int timeout_s);

struct HarnessRun {
  int samples = 0, status = 0;
  int64_t ticks = 0, stack_bytes = 0;
  std::string output;
  std::vector<uint64_t> op_ticks;  // per operator of the order, summed over the samples
};
// Runs the program; throws UserError when the harness did not report (crash, timeout).
HarnessRun run_deploy_program(const BuiltProgram& p, const std::string& dir, bool emulate);

}  // namespace mcuprune
