// Trainer: learns a tiny synthetic task to 100%, checkpoints restore identical weights,
// resume continues at the saved epoch and matches an uninterrupted run, Ctrl-C saves.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/synthetic.h"
#include "graph/graph_json.h"
#include "nn/trainer.h"

namespace mcuprune {
namespace {

namespace fs = std::filesystem;

DatasetSplits synthetic(int per_class, uint64_t seed) { return test::quadrant_task(8, per_class, seed); }

Graph tiny_graph() {
  GraphBuilder b("tiny", {8, 8, 1});
  int x = b.conv(b.input(), 4, 3, 1, Padding::Same, "conv");
  x = b.relu(b.batchnorm(x, "bn"), "relu");
  x = b.maxpool(x, 2, 2, Padding::Valid, "pool");
  x = b.flatten(x, "flat");
  b.dense(x, 4, "logits");
  return b.finish();
}

TrainConfig config(int epochs) {
  TrainConfig c;
  c.epochs = epochs;
  c.batch_size = 8;
  c.lr = 0.01;
  c.schedule = "constant";
  c.threads = 1;
  c.seed = 5;
  c.dataset = "synthetic";
  return c;
}

using test::TempDir;

OutputOptions quiet() {
  OutputOptions o;
  o.quiet = true;
  return o;
}

TEST(Trainer, ReachesFullAccuracyOnTinySyntheticSet) {
  DatasetSplits data = synthetic(16, 1);
  TempDir dir;
  TrainResult r = train_model(tiny_graph(), nullptr, data, config(15), dir.str(), false, quiet());
  ASSERT_EQ(r.history.size(), 15u);
  EXPECT_LT(r.history.back().train_loss, 0.5 * r.history.front().train_loss);
  CheckpointInfo ck = read_checkpoint(dir.str());
  EvalResult e = evaluate_model(ck.graph, r.weights, data.train, 32, 1);
  EXPECT_EQ(e.accuracy, 1.0);
  EXPECT_EQ(e.samples, 64);
  int64_t total = 0;
  for (const auto& row : e.confusion)
    for (int64_t v : row) total += v;
  EXPECT_EQ(total, 64);
}

TEST(Trainer, CheckpointRestoresIdenticalWeights) {
  DatasetSplits data = synthetic(8, 2);
  TempDir dir;
  TrainResult r = train_model(tiny_graph(), nullptr, data, config(2), dir.str(), false, quiet());
  ASSERT_EQ(r.epochs_completed, 2);
  std::string wfile;
  for (const auto& e : fs::directory_iterator(dir.path / "checkpoint"))
    if (e.path().filename().string().rfind("weights-", 0) == 0) wfile = e.path().string();
  ASSERT_FALSE(wfile.empty());
  EXPECT_EQ(fs::path(wfile).filename().string(), "weights-e2.bin");  // older ones removed
  WeightMap saved = load_weights(wfile);
  ASSERT_EQ(saved.size(), r.weights.size());
  for (const auto& [name, t] : r.weights) EXPECT_EQ(saved.at(name).data, t.data) << name;
  CheckpointInfo ck = read_checkpoint(dir.str());
  EXPECT_EQ(ck.epochs_completed, 2);
  EXPECT_FALSE(ck.interrupted);
  EXPECT_EQ(ck.history.size(), 2u);
  EXPECT_EQ(ck.config.seed, 5u);
  EXPECT_FALSE(ck.graph.normalization.empty());  // saved with the model for eval
}

TEST(Trainer, ResumeContinuesAtSavedEpochAndMatchesUninterruptedRun) {
  DatasetSplits data = synthetic(8, 3);
  TempDir straight, split;
  TrainResult full = train_model(tiny_graph(), nullptr, data, config(3), straight.str(), false, quiet());
  train_model(tiny_graph(), nullptr, data, config(2), split.str(), false, quiet());
  std::string log = (split.path / "log.jsonl").string();
  OutputOptions o = quiet();
  o.log_json = log;
  TrainResult resumed = train_model(tiny_graph(), nullptr, data, config(3), split.str(), true, o);
  ASSERT_EQ(resumed.history.size(), 3u);
  EXPECT_EQ(resumed.history[2].epoch, 3);
  // Only the third epoch ran in the resumed call: one line in its JSON log.
  std::ifstream f(log);
  int lines = 0;
  for (std::string line; std::getline(f, line);) ++lines;
  EXPECT_EQ(lines, 1);
  for (const auto& [name, t] : full.weights) {
    const auto& u = resumed.weights.at(name).data;
    ASSERT_EQ(u.size(), t.data.size());
    for (size_t i = 0; i < u.size(); ++i) ASSERT_NEAR(u[i], t.data[i], 1e-5) << name << "[" << i << "]";
  }
}

TEST(Trainer, StopRequestSavesCheckpointAndResumeFinishes) {
  DatasetSplits data = synthetic(8, 4);
  TempDir dir;
  g_stop_requested = true;
  TrainResult r = train_model(tiny_graph(), nullptr, data, config(2), dir.str(), false, quiet());
  g_stop_requested = false;
  EXPECT_TRUE(r.interrupted);
  CheckpointInfo ck = read_checkpoint(dir.str());
  EXPECT_TRUE(ck.interrupted);
  EXPECT_EQ(ck.epochs_completed, 0);
  TrainResult r2 = train_model(tiny_graph(), nullptr, data, config(2), dir.str(), true, quiet());
  EXPECT_FALSE(r2.interrupted);
  EXPECT_EQ(r2.epochs_completed, 2);
}

TEST(Trainer, ResumeWithoutCheckpointIsAClearError) {
  DatasetSplits data = synthetic(4, 5);
  TempDir dir;
  try {
    train_model(tiny_graph(), nullptr, data, config(1), dir.str(), true, quiet());
    FAIL() << "expected UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("no checkpoint"), std::string::npos) << e.what();
  }
}

TEST(Trainer, MismatchedDatasetShapeIsAClearError) {
  DatasetSplits data = synthetic(4, 6);
  GraphBuilder b("wrong", {28, 28, 1});
  b.dense(b.flatten(b.input()), 4, "logits");
  TempDir dir;
  try {
    train_model(b.finish(), nullptr, data, config(1), dir.str(), false, quiet());
    FAIL() << "expected UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("--input 8x8x1"), std::string::npos) << e.what();
  }
}

TEST(Trainer, BadConfigNamesTheOption) {
  TrainConfig c = config(1);
  c.optimizer = "rmsprop";
  try {
    validate_train_config(c);
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("--optimizer"), std::string::npos);
  }
  c = config(0);
  EXPECT_THROW(validate_train_config(c), UserError);
}

}  // namespace
}  // namespace mcuprune
