// The deployment library (src/deploy): linker scripts for a board's budgets, the messages of
// a failed link, and a firmware built, run on QEMU and measured through its API alone.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "deploy/firmware.h"
#include "export/c_source.h"
#include "export/fixtures.h"
#include "graph/io.h"
#include "quant/quantize.h"

namespace mcuprune {
namespace {

namespace fs = std::filesystem;

TEST(DeployLib, LinkerScriptGivesTheModelTheBoardsBudgets) {
  const Board b = find_board("nucleo-l432kc");
  const std::string ld = linker_script(b);
  EXPECT_NE(ld.find("MODEL_FLASH (r) : ORIGIN = " + std::to_string(b.reserved_flash_bytes) +
                    ", LENGTH = " + std::to_string(b.flash_budget_bytes())),
            std::string::npos)
      << ld;
  EXPECT_NE(ld.find("MODEL_RAM (rw)  : ORIGIN = 0x20000000, LENGTH = " + std::to_string(b.ram_budget_bytes())),
            std::string::npos)
      << ld;
  EXPECT_NE(ld.find("ASSERT(__stack_top - __stack_bottom >= " + std::to_string(kMinStackBytes)), std::string::npos);
}

TEST(DeployLib, AFailedLinkSaysWhichBudgetAndWhatToDo) {
  const Board b = find_board("nucleo-l432kc");
  const CSource src = export_c(test::export_cases().at(0).q, "t");
  try {
    explain_link_failure("ld: region `MODEL_RAM' overflowed by 1234 bytes\n", b, src);
    FAIL() << "no error";
  } catch (const UserError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("arena"), std::string::npos) << m;
    EXPECT_NE(m.find("overflowed by 1234 bytes"), std::string::npos) << m;
    EXPECT_NE(m.find("prune it for this board"), std::string::npos) << m;
  }
  EXPECT_THROW(explain_link_failure("something else entirely", b, src), UserError);
}

TEST(DeployLib, BuildsRunsAndMeasuresAFirmwareOnQemu) {
  const test::ExportCase& c = test::export_cases().at(0);
  const Board board = find_board("nucleo-f767zi");
  CSourceOptions co;
  co.board = board;
  const CSource src = export_c(c.q, "deploy lib test", co);
  const fs::path dir = fs::temp_directory_path() / ("mcuprune_deploylib_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  write_deploy_sources(src, dir.string());
  // One sample: the harness's inputs.bin (count, then the int8 input).
  const std::vector<int8_t> x = test::quantize_input(c.q, test::fashion_images(test::fashion().test, 0, 1)[0]);
  std::string in(4, '\0');
  const int32_t one = 1;
  std::memcpy(in.data(), &one, 4);
  in.append(reinterpret_cast<const char*>(x.data()), x.size());
  write_file_atomic((dir / "inputs.bin").string(), in);
  const BuiltProgram p = build_deploy_program(src, dir.string(), board, /*emulate=*/true, /*portable=*/false, 120);
  EXPECT_EQ(p.model_ram_bytes, src.plan.arena_bytes);  // the arena section is the plan's arena
  EXPECT_GT(p.model_flash_bytes, 0);
  EXPECT_LE(p.model_flash_bytes, src.constant_bytes);  // the export's count includes padding of its own
  EXPECT_GT(p.code_bytes, 0);
  const HarnessRun r = run_deploy_program(p, dir.string(), true);
  EXPECT_EQ(r.samples, 1);
  EXPECT_EQ(r.status, 0);
  EXPECT_GT(r.ticks, 0);
  EXPECT_GT(r.stack_bytes, 0);
  EXPECT_EQ(r.op_ticks.size(), src.plan.order.size());
  std::ifstream f(dir / "outputs.bin", std::ios::binary);
  const std::string out((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const std::vector<int8_t> ref = Int8Interpreter(c.q).forward(x)[size_t(c.q.graph.output)];
  ASSERT_EQ(out.size(), ref.size());
  for (size_t j = 0; j < ref.size(); ++j) EXPECT_EQ(int(int8_t(out[j])), int(ref[j])) << "output " << j;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mcuprune
