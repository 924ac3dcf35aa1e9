// Board profiles (resources/board.h): the built-in boards, runtimes, and the board JSON
// format with its errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/expect_error.h"
#include "resources/board.h"

namespace mcuprune {
namespace {

using nlohmann::json;
using test::Contains;
using test::user_error_of;

constexpr int64_t KiB = 1024, MiB = 1024 * 1024;

TEST(Boards, BuiltinBoardsOfTheIssue) {
  struct Want {
    const char* name;
    const char* core;
    double mhz;
    int64_t sram, flash;
  };
  const std::vector<Want> want = {
      {"nucleo-f446re", "cortex-m4", 180, 128 * KiB, 512 * KiB},
      {"nucleo-l4r5zi", "cortex-m4", 120, 640 * KiB, 2 * MiB},
      {"nucleo-f746zg", "cortex-m7", 216, 320 * KiB, 1 * MiB},
      {"nucleo-f767zi", "cortex-m7", 216, 512 * KiB, 2 * MiB},
      {"nucleo-h743zi", "cortex-m7", 480, 512 * KiB, 2 * MiB},
      {"arduino-nano-33-ble", "cortex-m4", 64, 256 * KiB, 1 * MiB},
      {"nucleo-l432kc", "cortex-m4", 80, 64 * KiB, 256 * KiB},
      {"rp2040", "cortex-m0plus", 133, 264 * KiB, 2 * MiB},
  };
  const auto& boards = builtin_boards();
  ASSERT_EQ(boards.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(want[i].name);
    const Board& b = boards[i];
    EXPECT_EQ(b.name, want[i].name);
    EXPECT_EQ(b.core, want[i].core);
    EXPECT_DOUBLE_EQ(b.clock_mhz, want[i].mhz);
    EXPECT_EQ(b.sram_bytes, want[i].sram);
    EXPECT_EQ(b.flash_bytes, want[i].flash);
    EXPECT_GT(b.ram_budget_bytes(), 0);
    EXPECT_GT(b.flash_budget_bytes(), 0);
    EXPECT_LT(b.ram_budget_bytes(), b.sram_bytes);
    EXPECT_LT(b.flash_budget_bytes(), b.flash_bytes);
    EXPECT_GT(b.latency.conv_cycles_per_mac, 0);
    EXPECT_GT(b.latency.depthwise_cycles_per_mac, 0);
    EXPECT_GT(b.latency.dense_cycles_per_mac, 0);
    EXPECT_FALSE(b.latency.source.empty());
    EXPECT_FALSE(b.description.empty());
    EXPECT_EQ(b.runtime, "cmsis-nn");
    // find_board by name returns the same board.
    Board f = find_board(want[i].name);
    EXPECT_EQ(f.sram_bytes, b.sram_bytes);
    EXPECT_DOUBLE_EQ(f.clock_mhz, b.clock_mhz);
  }
  // The H743's figure is its 512 KiB AXI SRAM (the largest contiguous region).
  EXPECT_TRUE(Contains(find_board("nucleo-h743zi").memory_note, "AXI"));
  // Reservations: min(32 KiB, SRAM/8) and min(128 KiB, flash/4).
  // f446re: min(32768, 16384) = 16384; min(131072, 131072) = 131072.
  EXPECT_EQ(find_board("nucleo-f446re").reserved_ram_bytes, 16 * KiB);
  EXPECT_EQ(find_board("nucleo-f446re").reserved_flash_bytes, 128 * KiB);
  // rp2040: RAM budget 270336 - 32768 = 237568; flash 2097152 - 131072 = 1966080.
  EXPECT_EQ(find_board("rp2040").ram_budget_bytes(), 237568);
  EXPECT_EQ(find_board("rp2040").flash_budget_bytes(), 1966080);
}

TEST(Boards, Runtimes) {
  ASSERT_EQ(builtin_runtimes().size(), 5u);
  EXPECT_TRUE(find_runtime("tflm").tflm_arena);
  EXPECT_FALSE(find_runtime("tflm").im2col_scratch);
  EXPECT_TRUE(find_runtime("tflm-cmsis-nn").tflm_arena);
  EXPECT_TRUE(find_runtime("tflm-cmsis-nn").im2col_scratch);
  EXPECT_FALSE(find_runtime("cmsis-nn").tflm_arena);
  EXPECT_TRUE(find_runtime("cmsis-nn").im2col_scratch);
  EXPECT_FALSE(find_runtime("reference").im2col_scratch);
  // mcuprune's C runtime: no scratch, no RAM besides the arena, requantisation in flash.
  const RuntimeProfile& mp = find_runtime("mcuprune");
  EXPECT_FALSE(mp.im2col_scratch);
  EXPECT_FALSE(mp.mean_scratch);
  EXPECT_EQ(mp.requant_bytes_per_channel, 0);
  EXPECT_EQ(mp.tensor_ram_bytes, 0);
  EXPECT_EQ(mp.flash_requant_bytes_per_channel, 8);
  std::string msg = user_error_of([] { find_runtime("tflm-esp"); });
  EXPECT_TRUE(Contains(msg, "'tflm-esp'"));
  EXPECT_TRUE(Contains(msg, "cmsis-nn"));
  EXPECT_TRUE(Contains(msg, "reference"));
  EXPECT_TRUE(Contains(msg, "mcuprune"));
}

TEST(BoardJson, BaseWithOverrides) {
  json j = {{"base", "nucleo-f446re"},
            {"name", "my-f446"},
            {"reserved_ram_bytes", 8192},
            {"latency", {{"conv_cycles_per_mac", 5.0}}}};
  Board b = board_from_json(j, "mine.json");
  EXPECT_EQ(b.name, "my-f446");
  EXPECT_EQ(b.core, "cortex-m4");             // from the base
  EXPECT_DOUBLE_EQ(b.clock_mhz, 180);         // from the base
  EXPECT_EQ(b.sram_bytes, 128 * KiB);         // from the base
  EXPECT_EQ(b.reserved_ram_bytes, 8192);      // overridden
  EXPECT_EQ(b.ram_budget_bytes(), 131072 - 8192);
  EXPECT_EQ(b.reserved_flash_bytes, 128 * KiB);
  EXPECT_DOUBLE_EQ(b.latency.conv_cycles_per_mac, 5.0);           // overridden
  EXPECT_NEAR(b.latency.depthwise_cycles_per_mac, 6.0 * 1.3, 1e-12);  // base's
  EXPECT_NEAR(b.latency.op_fixed_cycles, 6500, 1e-9);                  // base's
  EXPECT_EQ(b.latency.source, find_board("nucleo-f446re").latency.source);
  EXPECT_EQ(b.runtime, "cmsis-nn");
  // "name" is required (docs/resources.md), also with a base: a derived board that kept its
  // base's name would be reported as the base.
  const std::string msg = test::user_error_of([] { board_from_json({{"base", "rp2040"}, {"runtime", "reference"}}, "x.json"); });
  EXPECT_TRUE(test::Contains(msg, "\"name\" is required")) << msg;
  EXPECT_TRUE(test::Contains(msg, "x.json")) << msg;
}

TEST(BoardJson, FullCustomBoardAndRoundTrip) {
  json j = {{"name", "custom"},
            {"description", "a test board"},
            {"core", "cortex-m33"},
            {"clock_mhz", 100.5},
            {"sram_bytes", 65536},
            {"flash_bytes", 262144},
            {"reserved_ram_bytes", 4096},
            {"reserved_flash_bytes", 65536},
            {"memory_note", "one region"},
            {"runtime", "reference"},
            {"latency",
             {{"conv_cycles_per_mac", 2.0},
              {"depthwise_cycles_per_mac", 3.0},
              {"dense_cycles_per_mac", 2.5},
              {"pool_cycles_per_op", 1.0},
              {"eltwise_cycles_per_op", 1.5},
              {"op_fixed_cycles", 1000},
              {"source", "measured by hand"}}}};
  Board b = board_from_json(j, "custom.json");
  EXPECT_EQ(b.name, "custom");
  EXPECT_EQ(b.description, "a test board");
  EXPECT_EQ(b.core, "cortex-m33");
  EXPECT_DOUBLE_EQ(b.clock_mhz, 100.5);
  EXPECT_EQ(b.sram_bytes, 65536);
  EXPECT_EQ(b.flash_bytes, 262144);
  EXPECT_EQ(b.ram_budget_bytes(), 61440);
  EXPECT_EQ(b.flash_budget_bytes(), 196608);
  EXPECT_EQ(b.memory_note, "one region");
  EXPECT_EQ(b.runtime, "reference");
  EXPECT_DOUBLE_EQ(b.latency.conv_cycles_per_mac, 2.0);
  EXPECT_DOUBLE_EQ(b.latency.depthwise_cycles_per_mac, 3.0);
  EXPECT_DOUBLE_EQ(b.latency.dense_cycles_per_mac, 2.5);
  EXPECT_DOUBLE_EQ(b.latency.pool_cycles_per_op, 1.0);
  EXPECT_DOUBLE_EQ(b.latency.eltwise_cycles_per_op, 1.5);
  EXPECT_DOUBLE_EQ(b.latency.op_fixed_cycles, 1000);
  EXPECT_EQ(b.latency.source, "measured by hand");
  // A latency object without "source" and without a base says it came from a board file.
  json j2 = j;
  j2["latency"].erase("source");
  EXPECT_EQ(board_from_json(j2, "c.json").latency.source, "board file");

  // board_to_json -> board_from_json reproduces every field, for the built-ins too.
  std::vector<Board> all = builtin_boards();
  all.push_back(b);
  for (const Board& x : all) {
    SCOPED_TRACE(x.name);
    Board y = board_from_json(board_to_json(x), "roundtrip");
    EXPECT_EQ(y.name, x.name);
    EXPECT_EQ(y.description, x.description);
    EXPECT_EQ(y.core, x.core);
    EXPECT_DOUBLE_EQ(y.clock_mhz, x.clock_mhz);
    EXPECT_EQ(y.sram_bytes, x.sram_bytes);
    EXPECT_EQ(y.flash_bytes, x.flash_bytes);
    EXPECT_EQ(y.reserved_ram_bytes, x.reserved_ram_bytes);
    EXPECT_EQ(y.reserved_flash_bytes, x.reserved_flash_bytes);
    EXPECT_EQ(y.memory_note, x.memory_note);
    EXPECT_EQ(y.runtime, x.runtime);
    EXPECT_DOUBLE_EQ(y.latency.conv_cycles_per_mac, x.latency.conv_cycles_per_mac);
    EXPECT_DOUBLE_EQ(y.latency.op_fixed_cycles, x.latency.op_fixed_cycles);
    EXPECT_EQ(y.latency.source, x.latency.source);
  }
}

// A minimal valid board without base, to break one field at a time.
json minimal() {
  return {{"name", "mini"}, {"clock_mhz", 48}, {"sram_bytes", 32768}, {"flash_bytes", 131072}};
}

TEST(BoardJson, Errors) {
  EXPECT_EQ(board_from_json(minimal(), "m.json").name, "mini");
  EXPECT_EQ(board_from_json(minimal(), "m.json").reserved_ram_bytes, 0);

  {
    json j = minimal();
    j["sram"] = 1;  // a typo of sram_bytes
    std::string msg = user_error_of([&] { board_from_json(j, "typo.json"); });
    EXPECT_TRUE(Contains(msg, "typo.json"));
    EXPECT_TRUE(Contains(msg, "unknown key 'sram'"));
    EXPECT_TRUE(Contains(msg, "sram_bytes"));  // lists the allowed keys
  }
  {
    json j = minimal();
    j["latency"] = {{"conv_cycles", 1.0}};
    std::string msg = user_error_of([&] { board_from_json(j, "lat.json"); });
    EXPECT_TRUE(Contains(msg, "conv_cycles"));
  }
  {
    json j = minimal();
    j.erase("name");
    std::string msg = user_error_of([&] { board_from_json(j, "noname.json"); });
    EXPECT_TRUE(Contains(msg, "noname.json"));
    EXPECT_TRUE(Contains(msg, "\"name\" is required"));
  }
  {
    json j = minimal();
    j["reserved_ram_bytes"] = 32768;  // == sram_bytes
    std::string msg = user_error_of([&] { board_from_json(j, "res.json"); });
    EXPECT_TRUE(Contains(msg, "reserved_ram_bytes"));
    j["reserved_ram_bytes"] = 40000;  // > sram_bytes
    EXPECT_TRUE(Contains(user_error_of([&] { board_from_json(j, "res.json"); }),
                         "reserved_ram_bytes"));
    j["reserved_ram_bytes"] = 32767;  // just below: accepted, budget 1 byte
    EXPECT_EQ(board_from_json(j, "res.json").ram_budget_bytes(), 1);
  }
  {
    json j = minimal();
    j["reserved_flash_bytes"] = 131072;
    EXPECT_TRUE(Contains(user_error_of([&] { board_from_json(j, "f.json"); }),
                         "reserved_flash_bytes"));
  }
  {
    json j = minimal();
    j["latency"] = {{"dense_cycles_per_mac", -1.0}};
    std::string msg = user_error_of([&] { board_from_json(j, "neg.json"); });
    EXPECT_TRUE(Contains(msg, "neg.json"));
    EXPECT_TRUE(Contains(msg, "in [0, 10000]"));
  }
  {
    json j = minimal();
    j["sram_bytes"] = 1.5;
    std::string msg = user_error_of([&] { board_from_json(j, "float.json"); });
    EXPECT_TRUE(Contains(msg, "'sram_bytes' must be an integer"));
    j["sram_bytes"] = "128KiB";
    EXPECT_TRUE(Contains(user_error_of([&] { board_from_json(j, "float.json"); }),
                         "sram_bytes"));
  }
  {
    json j = minimal();
    j["clock_mhz"] = 0;
    EXPECT_TRUE(Contains(user_error_of([&] { board_from_json(j, "c.json"); }), "clock_mhz"));
    j["clock_mhz"] = "fast";
    EXPECT_TRUE(Contains(user_error_of([&] { board_from_json(j, "c.json"); }), "bad value"));
  }
  {
    json j = minimal();
    j["sram_bytes"] = 0;
    EXPECT_TRUE(Contains(user_error_of([&] { board_from_json(j, "z.json"); }), "sram_bytes"));
  }
  {
    std::string msg = user_error_of([] { board_from_json(json::array(), "arr.json"); });
    EXPECT_TRUE(Contains(msg, "expected a JSON object"));
  }
  {
    std::string msg =
        user_error_of([] { board_from_json({{"base", "no-such-board"}}, "b.json"); });
    EXPECT_TRUE(Contains(msg, "no-such-board"));
    EXPECT_TRUE(Contains(msg, "nucleo-f446re"));
  }
  {
    json j = minimal();
    j["runtime"] = "tflm-fast";
    std::string msg = user_error_of([&] { board_from_json(j, "rt.json"); });
    EXPECT_TRUE(Contains(msg, "tflm-fast"));
    EXPECT_TRUE(Contains(msg, "cmsis-nn"));
  }
}

// Regression (fixed): an unknown runtime in a board file is the only board_from_json error that does not
// say where it comes from: find_runtime's message ("unknown runtime 'tflm-fast'; known
// runtimes: ...") escapes without the "board file '<where>': " prefix that every other
// error carries, so a user of `--board my.json` cannot tell it from a bad --runtime option.
TEST(BoardJson, UnknownRuntimeNamesTheBoardFile) {
  json j = minimal();
  j["runtime"] = "tflm-fast";
  std::string msg = user_error_of([&] { board_from_json(j, "rt.json"); });
  EXPECT_TRUE(Contains(msg, "rt.json"));
}

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("mcuprune_board_test_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::filesystem::path p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  std::filesystem::path dir_;
};

TEST_F(TempDir, FindBoardByFileAndErrors) {
  std::string good = write("board.json",
                           R"({"base": "nucleo-f746zg", "name": "f746-tight",
                               "reserved_ram_bytes": 131072})");
  Board b = find_board(good);
  EXPECT_EQ(b.name, "f746-tight");
  EXPECT_DOUBLE_EQ(b.clock_mhz, 216);
  EXPECT_EQ(b.ram_budget_bytes(), 320 * KiB - 131072);  // 196608

  std::string bad = write("bad.json", R"({"name": "x", "clock_mhz": )");
  std::string msg = user_error_of([&] { find_board(bad); });
  EXPECT_TRUE(Contains(msg, bad));
  EXPECT_TRUE(Contains(msg, "not valid JSON"));

  std::string wrong = write("wrong.json", R"({"name": "x", "clock": 1})");
  EXPECT_TRUE(Contains(user_error_of([&] { find_board(wrong); }), "unknown key 'clock'"));

  msg = user_error_of([] { find_board("nucleo-f999"); });
  EXPECT_TRUE(Contains(msg, "unknown board 'nucleo-f999'"));
  for (const Board& x : builtin_boards()) EXPECT_TRUE(Contains(msg, x.name));
  // A directory is not a board file.
  EXPECT_TRUE(Contains(user_error_of([&] { find_board(dir_.string()); }), "unknown board"));
}

// A board file that names itself (or a cycle of files) as its base is an error, not a hang.
TEST(BoardJson, BaseCyclesAreRefused) {
  namespace fs = std::filesystem;
  const fs::path p = fs::temp_directory_path() / ("mcuprune_board_cycle_" + std::to_string(::getpid()) + ".json");
  std::ofstream(p) << json{{"base", p.string()}, {"name", "loop"}}.dump();
  EXPECT_TRUE(test::Contains(test::user_error_of([&] { find_board(p.string()); }), "chain of \"base\" boards"));
  std::ofstream(p) << "{\"name\": \"big\", \"clock_mhz\": 1e400}";
  EXPECT_TRUE(test::Contains(test::user_error_of([&] { find_board(p.string()); }), "not valid JSON"));
  fs::remove(p);
}

// Bounds far beyond any MCU keep every derived figure finite; a relative "base" file is found
// beside the board file that names it, not in the working directory.
TEST_F(TempDir, BoundsAndBaseBesideTheFile) {
  const auto error_with = [&](const char* key, json value) {
    json j = minimal();
    j[key] = std::move(value);
    return user_error_of([&] { board_from_json(j, "b.json"); });
  };
  EXPECT_TRUE(Contains(error_with("clock_mhz", 1e5), "\"clock_mhz\" must be a number in (0, 10000]"));
  EXPECT_TRUE(Contains(error_with("sram_bytes", int64_t(1) << 41), "at most 1 TiB"));
  EXPECT_TRUE(Contains(error_with("latency", json{{"op_fixed_cycles", 1e10}}), "\"op_fixed_cycles\" must be a number in [0, 1e9]"));
  EXPECT_TRUE(Contains(error_with("latency", json{{"conv_cycles_per_mac", 1e5}}), "in [0, 10000]"));

  std::filesystem::create_directories(dir_ / "boards");
  write("boards/parent.json", R"({"base": "nucleo-f746zg", "name": "parent", "clock_mhz": 100})");
  const std::string child = write("boards/child.json", R"({"base": "parent.json", "name": "child"})");
  Board b = find_board(child);
  EXPECT_EQ(b.name, "child");
  EXPECT_DOUBLE_EQ(b.clock_mhz, 100);
  const std::string orphan = write("orphan.json", R"({"base": "nowhere.json", "name": "orphan"})");
  const std::string msg = user_error_of([&] { find_board(orphan); });
  EXPECT_TRUE(Contains(msg, orphan)) << msg;
  EXPECT_TRUE(Contains(msg, "its \"base\"")) << msg;
  // A key given twice is refused.
  const std::string dup = write("dup.json", R"({"name": "a", "name": "b", "base": "nucleo-f746zg"})");
  EXPECT_TRUE(Contains(user_error_of([&] { find_board(dup); }), "\"name\" appears twice"));
}

}  // namespace
}  // namespace mcuprune
