// Output directories (output_dir.h): what is refused, the lock between processes, and
// replacement by staging and swap, including a kill at every stage.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

#include "common/expect_error.h"
#include "graph/io.h"
#include "graph/output_dir.h"

namespace mcuprune {
namespace {

namespace fs = std::filesystem;
using test::Contains;
using test::user_error_of;

class OutputDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root = fs::temp_directory_path() / ("mcuprune_outdir_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root);
    fs::create_directories(root);
  }
  void TearDown() override { fs::remove_all(root); }
  std::string p(const std::string& rel) const { return (root / rel).string(); }
  static void put(const std::string& path, const std::string& text) { std::ofstream(path) << text; }
  static std::string get(const std::string& path) {
    std::ifstream f(path);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  }
  fs::path root;
};

TEST_F(OutputDirTest, WhatIsNotADirectoryIsRefusedBeforeAnythingIsWritten) {
  put(p("file"), "x");
  std::string msg = user_error_of([&] { OutputDir d(p("file"), "--out", "train"); });
  EXPECT_TRUE(Contains(msg, "is a file, not a directory")) << msg;
  msg = user_error_of([&] { OutputDir d(p("file/sub/dir"), "--out", "train"); });
  EXPECT_TRUE(Contains(msg, "'" + p("file") + "' is a file")) << msg;
  msg = user_error_of([&] { OutputDir d("/dev/null", "--out", "train"); });
  EXPECT_TRUE(Contains(msg, "is a device")) << msg;
  msg = user_error_of([&] { OutputDir d("/proc/self/mcuprune-out", "--out", "train"); });
  EXPECT_TRUE(Contains(msg, "/proc/self/mcuprune-out")) << msg;
  fs::create_symlink(p("missing"), p("dangling"));
  msg = user_error_of([&] { OutputDir d(p("dangling"), "--out", "train"); });
  EXPECT_TRUE(Contains(msg, "symbolic link to a missing directory")) << msg;
  EXPECT_EQ(get(p("file")), "x");
}

TEST_F(OutputDirTest, ASecondHolderIsRefusedWithTheFirstOneNamed) {
  OutputDir first(p("run"), "--out", "train");
  // flock conflicts between open file descriptions, so a second holder in this process
  // meets the lock as another process would.
  const std::string msg = user_error_of([&] { OutputDir second(p("run"), "--out", "prune"); });
  EXPECT_TRUE(Contains(msg, "in use by another mcuprune process")) << msg;
  EXPECT_TRUE(Contains(msg, "pid " + std::to_string(::getpid()))) << msg;
  EXPECT_TRUE(Contains(msg, "mcuprune train")) << msg;
}

TEST_F(OutputDirTest, TheLockEndsWithTheProcessThatHeldIt) {
  const pid_t child = ::fork();
  if (child == 0) {
    OutputDir d(p("run"), "--out", "train");
    put(p("run/model.json"), "{}");
    ::_exit(0);  // no destructor, as after a kill
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  OutputDir again(p("run"), "--out", "train");  // no stale lock
  EXPECT_EQ(again.entries(), std::vector<std::string>{"model.json"});
}

TEST_F(OutputDirTest, ADirectoryMadeForACommandThatWroteNothingIsRemoved) {
  { OutputDir d(p("new/run"), "--out", "train"); }
  EXPECT_FALSE(fs::exists(p("new/run")));
  fs::create_directories(p("mine"));
  { OutputDir d(p("mine"), "--out", "train"); }
  EXPECT_TRUE(fs::exists(p("mine")));  // the user's own directory stays
}

TEST_F(OutputDirTest, ReplacementIsWholeAndOnlyOfWhatMcupruneWrote) {
  fs::create_directories(p("run/checkpoint"));
  put(p("run/model.json"), "old");
  put(p("run/report.json"), "old");
  put(p("run/checkpoint/state.json"), "old");
  {
    OutputDir d(p("run"), "--out", "train");
    d.begin_replace(is_model_dir_entry);
    EXPECT_NE(d.work_path(), d.path());
    EXPECT_EQ(get(p("run/model.json")), "old");  // untouched until the swap
    put((fs::path(d.work_path()) / "model.json").string(), "new");
    d.commit();
    EXPECT_EQ(d.work_path(), d.path());
  }
  EXPECT_EQ(get(p("run/model.json")), "new");
  EXPECT_FALSE(fs::exists(p("run/report.json")));  // nothing of the old run is left beside the new one
  EXPECT_FALSE(fs::exists(p("run/checkpoint")));
  EXPECT_FALSE(fs::exists(p(".run.mcuprune-new")));

  put(p("run/notes.txt"), "mine");
  OutputDir d(p("run"), "--out", "train");
  const std::string msg = user_error_of([&] { d.begin_replace(is_model_dir_entry); });
  EXPECT_TRUE(Contains(msg, "'notes.txt', which mcuprune does not write")) << msg;
  EXPECT_EQ(get(p("run/notes.txt")), "mine");
}

TEST_F(OutputDirTest, AKilledReplacementLeavesTheOldResultsAndCanBeResumed) {
  fs::create_directories(p("run"));
  put(p("run/model.json"), "old");
  const pid_t child = ::fork();
  if (child == 0) {
    OutputDir d(p("run"), "--out", "train");
    d.begin_replace(is_model_dir_entry);
    fs::create_directories(fs::path(d.work_path()) / "checkpoint");
    put((fs::path(d.work_path()) / "checkpoint" / "state.json").string(), "new run");
    ::_exit(0);  // killed before commit()
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_EQ(get(p("run/model.json")), "old");
  OutputDir d(p("run"), "--resume", "train");
  ASSERT_TRUE(d.has_staged_run("checkpoint/state.json"));
  d.resume_staged_run();
  EXPECT_EQ(get((fs::path(d.work_path()) / "checkpoint" / "state.json").string()), "new run");
  put((fs::path(d.work_path()) / "model.json").string(), "new");
  d.commit();
  EXPECT_EQ(get(p("run/model.json")), "new");
  EXPECT_EQ(get(p("run/checkpoint/state.json")), "new run");
}

TEST_F(OutputDirTest, AKillBetweenTheSwapAndItsCleanUpIsFinishedOnTheNextOpen) {
  // After the exchange: the directory holds the new results with the staging marker, the
  // staging path the old results without it.
  fs::create_directories(p("run"));
  put(p("run/model.json"), "new");
  put(p("run/.mcuprune-staging"), "replaces run");
  fs::create_directories(p(".run.mcuprune-new"));
  put(p(".run.mcuprune-new/model.json"), "old");
  OutputDir d(p("run"), "--out", "train");
  EXPECT_FALSE(fs::exists(p("run/.mcuprune-staging")));
  EXPECT_FALSE(fs::exists(p(".run.mcuprune-new")));
  EXPECT_EQ(get(p("run/model.json")), "new");
  EXPECT_FALSE(d.has_staged_run("model.json"));
}

TEST_F(OutputDirTest, AReplacementThatWroteNothingLeavesNoStagingDirectory) {
  fs::create_directories(p("run"));
  put(p("run/model.json"), "old");
  {
    OutputDir d(p("run"), "--out", "train");
    d.begin_replace(is_model_dir_entry);
  }  // a command that failed before writing
  EXPECT_FALSE(fs::exists(p(".run.mcuprune-new")));
  EXPECT_EQ(get(p("run/model.json")), "old");
}

TEST_F(OutputDirTest, ASymlinkedDirectoryIsReplacedBehindTheLink) {
  fs::create_directories(p("real"));
  put(p("real/model.json"), "old");
  fs::create_directory_symlink(p("real"), p("link"));
  {
    OutputDir d(p("link"), "--out", "train");
    d.begin_replace(is_model_dir_entry);
    put((fs::path(d.work_path()) / "model.json").string(), "new");
    d.commit();
  }
  EXPECT_TRUE(fs::is_symlink(p("link")));
  EXPECT_EQ(get(p("link/model.json")), "new");
}

TEST_F(OutputDirTest, RemoveTreeRemovesEverythingAndFollowsNoLink) {
  fs::create_directories(p("tree/a/b"));
  put(p("tree/top.txt"), "x");
  put(p("tree/a/b/deep.txt"), "y");
  fs::create_directories(p("outside"));
  put(p("outside/kept.txt"), "keep");
  fs::create_directory_symlink(p("outside"), p("tree/a/to_outside"));
  fs::create_symlink(p("outside/kept.txt"), p("tree/file_link"));
  fs::create_symlink("nowhere", p("tree/dangling"));
  std::error_code ec;
  remove_tree(p("tree"), ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_FALSE(fs::exists(fs::symlink_status(p("tree"))));
  EXPECT_EQ(get(p("outside/kept.txt")), "keep");  // the links went, not what they point to
  remove_tree(p("tree"), ec);  // gone already: no error
  EXPECT_FALSE(ec) << ec.message();
  put(p("single.txt"), "z");
  remove_tree(p("single.txt"), ec);
  EXPECT_FALSE(ec);
  EXPECT_FALSE(fs::exists(p("single.txt")));
}

TEST(WriteFileAtomic, ADanglingLinkIsWrittenThroughNotReplaced) {
  const fs::path dir = fs::temp_directory_path() / ("mcuprune_dangling_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "targets");
  fs::create_symlink("targets/model.tflite", dir / "link.tflite");  // relative, dangling
  write_file_atomic((dir / "link.tflite").string(), "bytes");
  EXPECT_TRUE(fs::is_symlink(dir / "link.tflite"));
  std::ifstream f(dir / "targets" / "model.tflite");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(s, "bytes");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mcuprune
