// Tests of load_dataset: the real Fashion-MNIST install, $MCUPRUNE_DATA, layout
// detection for IDX / CIFAR-10 / image-folder directories, limits, and the error for an
// unknown name.
#include <cstdlib>
#include <filesystem>

#include <sys/stat.h>

#include "data/dataset.h"
#include "test_util.h"

namespace mcuprune::test {
namespace {

// Sets an environment variable for one scope and restores the old value.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (had_)
      ::setenv(name_, old_.c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

// An IDX directory with n_train and n_test 2x2 samples; pixel 0 of sample i is i.
void make_idx_dir(const std::string& dir, int n_train, int n_test, bool gz,
                  const std::string& sep = "-") {
  for (auto [prefix, n] : {std::pair<std::string, int>{"train", n_train},
                           std::pair<std::string, int>{"t10k", n_test}}) {
    std::vector<uint8_t> px, lab;
    for (int i = 0; i < n; ++i) {
      px.insert(px.end(), {uint8_t(i), 1, 2, 3});
      lab.push_back(uint8_t(i % 10));
    }
    const std::string suffix = gz ? ".gz" : "";
    const std::string images = dir + "/" + prefix + "-images" + sep + "idx3-ubyte" + suffix;
    const std::string labels = dir + "/" + prefix + "-labels" + sep + "idx1-ubyte" + suffix;
    if (gz) {
      write_gz(images, idx_images(uint32_t(n), 2, 2, px));
      write_gz(labels, idx_labels(lab));
    } else {
      write_file(images, idx_images(uint32_t(n), 2, 2, px));
      write_file(labels, idx_labels(lab));
    }
  }
}

TEST(LoadDataset, RealFashionMnist) {
  // Installed on developer machines and in CI (Debian's /usr/share/datasets).
  LoadOptions opt;
  opt.val_fraction = 0.1;
  const DatasetSplits s = load_dataset("fashion-mnist", opt);
  EXPECT_EQ(s.train.size(), 54000u);
  EXPECT_EQ(s.val.size(), 6000u);
  EXPECT_EQ(s.test.size(), 10000u);
  EXPECT_EQ(s.train.name, "fashion-mnist/train");
  EXPECT_EQ(s.val.name, "fashion-mnist/val");
  EXPECT_EQ(s.test.name, "fashion-mnist/test");
  for (const Dataset* d : {&s.train, &s.val, &s.test}) {
    EXPECT_EQ(d->height, 28);
    EXPECT_EQ(d->width, 28);
    EXPECT_EQ(d->channels, 1);
    EXPECT_EQ(d->num_classes, 10);
    ASSERT_EQ(d->class_names.size(), 10u);
    EXPECT_EQ(d->class_names[0], "T-shirt/top");
    EXPECT_EQ(d->class_names[9], "Ankle boot");
    EXPECT_EQ(d->images.size(), d->size() * 28 * 28);
    EXPECT_TRUE(std::all_of(d->labels.begin(), d->labels.end(),
                            [](int32_t l) { return l >= 0 && l < 10; }));
  }
  // Fashion-MNIST is balanced: 6000 training and 1000 test images per class.
  std::vector<int> train_count(10, 0), test_count(10, 0);
  for (int32_t l : s.train.labels) ++train_count[l];
  for (int32_t l : s.val.labels) ++train_count[l];
  for (int32_t l : s.test.labels) ++test_count[l];
  EXPECT_EQ(train_count, std::vector<int>(10, 6000));
  EXPECT_EQ(test_count, std::vector<int>(10, 1000));
  // The well-known statistics of the training set (mean 0.2860, std 0.3530).
  const Normalization n = compute_normalization(s.train);
  EXPECT_NEAR(n.mean[0], 0.2860, 0.002);
  EXPECT_NEAR(n.stddev[0], 0.3530, 0.002);
}

TEST(LoadDataset, UnknownNameListsKnownNamesAndLayouts) {
  const std::string msg =
      user_error_message([] { load_dataset("no-such-dataset-xyz", LoadOptions{}); });
  EXPECT_CONTAINS(msg, "no-such-dataset-xyz");
  for (const std::string& n : known_dataset_names()) EXPECT_CONTAINS(msg, n);
  EXPECT_CONTAINS(msg, "train-images-idx3-ubyte");
  EXPECT_CONTAINS(msg, "data_batch_1.bin");
  EXPECT_CONTAINS(msg, "train/<class>");
  EXPECT_EQ(known_dataset_names(), std::vector<std::string>({"fashion-mnist", "mnist"}));
}

TEST(LoadDataset, DirectoryWithoutLayout) {
  TempDir t;
  std::ofstream(t.file("readme.txt")) << "nothing useful";
  const std::string msg = user_error_message([&] { load_dataset(t.str(), LoadOptions{}); });
  EXPECT_CONTAINS(msg, t.str());
  EXPECT_CONTAINS(msg, "no recognised layout");
}

TEST(LoadDataset, AFifoOrALinkToADeviceIsNamedNotTakenForAMissingLayout) {
  TempDir t;
  make_idx_dir(t.str(), 4, 2, false);
  const std::string images = t.file("train-images-idx3-ubyte");
  std::filesystem::remove(images);
  ASSERT_EQ(::mkfifo(images.c_str(), 0644), 0);
  std::string msg = user_error_message([&] { load_dataset(t.str(), LoadOptions{}); });
  EXPECT_CONTAINS(msg, images);
  EXPECT_CONTAINS(msg, "named pipe");
  std::filesystem::remove(images);
  std::filesystem::create_symlink("/dev/zero", images);
  msg = user_error_message([&] { load_dataset(t.str(), LoadOptions{}); });
  EXPECT_CONTAINS(msg, "a link to a device");
}

TEST(LoadDataset, IdxDirectorySplitAndLimits) {
  TempDir t;
  make_idx_dir(t.file("digits"), 20, 8, true);
  LoadOptions opt;
  opt.val_fraction = 0.25;
  opt.seed = 5;
  const DatasetSplits full = load_dataset(t.file("digits"), opt);
  EXPECT_EQ(full.train.size(), 15u);
  EXPECT_EQ(full.val.size(), 5u);
  EXPECT_EQ(full.test.size(), 8u);
  EXPECT_EQ(full.train.name, "digits/train");
  EXPECT_EQ(full.test.name, "digits/test");
  EXPECT_EQ(full.train.class_names[3], "3");

  opt.limit_train = 4;
  opt.limit_test = 3;
  const DatasetSplits lim = load_dataset(t.file("digits"), opt);
  EXPECT_EQ(lim.train.size(), 4u);
  EXPECT_EQ(lim.train.images.size(), 4u * 4);
  EXPECT_EQ(lim.val.images, full.val.images);  // limits do not change validation
  EXPECT_TRUE(std::equal(lim.train.images.begin(), lim.train.images.end(),
                         full.train.images.begin()));
  ASSERT_EQ(lim.test.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(lim.test.sample(i)[0], i);  // the first N test
}

TEST(LoadDataset, IdxDotNamingVariant) {
  TempDir t;
  make_idx_dir(t.file("raw"), 6, 2, false, ".");  // train-images.idx3-ubyte
  LoadOptions opt;
  opt.val_fraction = 0.5;
  const DatasetSplits s = load_dataset(t.file("raw"), opt);
  EXPECT_EQ(s.train.size(), 3u);
  EXPECT_EQ(s.val.size(), 3u);
  EXPECT_EQ(s.test.size(), 2u);
}

TEST(LoadDataset, KnownNameFromMcupruneData) {
  TempDir t;
  make_idx_dir(t.file("mnist"), 10, 4, true);
  ScopedEnv env("MCUPRUNE_DATA", t.str());
  LoadOptions opt;
  opt.val_fraction = 0.2;
  const DatasetSplits s = load_dataset("mnist", opt);
  EXPECT_EQ(s.train.size(), 8u);
  EXPECT_EQ(s.val.size(), 2u);
  EXPECT_EQ(s.test.size(), 4u);
  EXPECT_EQ(s.val.name, "mnist/val");
  EXPECT_EQ(s.test.class_names[7], "7");
}

TEST(LoadDataset, MissingTestFilesAreNamed) {
  TempDir t;
  make_idx_dir(t.file("half"), 4, 2, true);
  std::filesystem::remove(t.file("half/t10k-labels-idx1-ubyte.gz"));
  const std::string msg = user_error_message([&] { load_dataset(t.file("half"), LoadOptions{}); });
  EXPECT_CONTAINS(msg, "t10k-labels-idx1-ubyte");
  EXPECT_CONTAINS(msg, "not found");
}

TEST(LoadDataset, CifarDirectory) {
  TempDir t;
  std::vector<uint8_t> batch;
  for (int r = 0; r < 4; ++r) {
    batch.push_back(uint8_t(r));
    batch.insert(batch.end(), 3072, uint8_t(r * 10));
  }
  write_file(t.file("cifar/data_batch_1.bin"), batch);
  batch.resize(3073);
  write_file(t.file("cifar/test_batch.bin"), batch);
  LoadOptions opt;
  opt.val_fraction = 0.25;
  const DatasetSplits s = load_dataset(t.file("cifar"), opt);
  EXPECT_EQ(s.train.size(), 3u);
  EXPECT_EQ(s.val.size(), 1u);
  EXPECT_EQ(s.test.size(), 1u);
  EXPECT_EQ(s.train.channels, 3);
  EXPECT_EQ(s.test.name, "cifar/test");
}

TEST(LoadDataset, ImageFolderTrainTest) {
  TempDir t;
  const std::vector<uint8_t> px(3 * 3 * 3, 77);
  for (const char* split : {"train", "test"})
    for (const char* cls : {"a", "b"}) {
      for (int i = 0; i < 2; ++i)
        write_png(t.file(std::string("imgs/") + split + "/" + cls + "/" + std::to_string(i) +
                         ".png"),
                  3, 3, 3, px);
    }
  LoadOptions opt;
  opt.val_fraction = 0.25;
  opt.image.height = 6;
  opt.image.width = 6;
  const DatasetSplits s = load_dataset(t.file("imgs"), opt);
  EXPECT_EQ(s.train.size(), 3u);
  EXPECT_EQ(s.val.size(), 1u);
  EXPECT_EQ(s.test.size(), 4u);
  EXPECT_EQ(s.train.height, 6);
  EXPECT_EQ(s.test.width, 6);
  EXPECT_EQ(s.test.class_names, std::vector<std::string>({"a", "b"}));
  EXPECT_EQ(s.test.sample(3)[0], 77);  // a constant image stays constant when resized

  // A class missing from test/ is reported.
  std::filesystem::remove_all(t.file("imgs/test/b"));
  EXPECT_CONTAINS(user_error_message([&] { load_dataset(t.file("imgs"), opt); }),
                  "same class folders");
}

}  // namespace
}  // namespace mcuprune::test
