// Tests of the CIFAR-10 binary reader: CHW records become HWC samples, class names come
// from batches.meta.txt when present, and truncated batches are reported.
#include "data/dataset.h"
#include "test_util.h"

namespace mcuprune::test {
namespace {

// A pixel value that differs per record, channel and position, so a wrong layout shows.
uint8_t pixel(int record, int channel, int pos) {
  return uint8_t(record * 7 + channel * 50 + pos * 3);
}

std::vector<uint8_t> cifar_records(const std::vector<uint8_t>& labels, int first_record = 0) {
  std::vector<uint8_t> out;
  for (size_t r = 0; r < labels.size(); ++r) {
    out.push_back(labels[r]);
    for (int c = 0; c < 3; ++c)
      for (int p = 0; p < 1024; ++p) out.push_back(pixel(first_record + int(r), c, p));
  }
  return out;
}

TEST(Cifar10, ConvertsPlanesToHwc) {
  TempDir t;
  write_file(t.file("data_batch_1.bin"), cifar_records({3, 0, 9}));
  write_file(t.file("test_batch.bin"), cifar_records({5, 1}, 100));
  const Dataset d = read_cifar10(t.str(), true);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d.height, 32);
  EXPECT_EQ(d.width, 32);
  EXPECT_EQ(d.channels, 3);
  EXPECT_EQ(d.num_classes, 10);
  EXPECT_EQ(d.labels, std::vector<int32_t>({3, 0, 9}));
  EXPECT_EQ(d.class_names[0], "airplane");  // standard names without batches.meta.txt
  EXPECT_EQ(d.class_names[9], "truck");
  // HWC: sample r, row y, column x, channel c sits at ((y * 32 + x) * 3 + c).
  for (int r : {0, 2})
    for (auto [y, x] : {std::pair{0, 0}, std::pair{0, 1}, std::pair{5, 17}, std::pair{31, 31}})
      for (int c = 0; c < 3; ++c)
        EXPECT_EQ(d.sample(r)[(y * 32 + x) * 3 + c], pixel(r, c, y * 32 + x))
            << "record " << r << " y " << y << " x " << x << " c " << c;

  const Dataset test = read_cifar10(t.str(), false);
  ASSERT_EQ(test.size(), 2u);
  EXPECT_EQ(test.labels, std::vector<int32_t>({5, 1}));
  EXPECT_EQ(test.sample(1)[(2 * 32 + 3) * 3 + 1], pixel(101, 1, 2 * 32 + 3));
}

TEST(Cifar10, ReadsFurtherBatchesAndMetaNames) {
  TempDir t;
  const std::string dir = t.file("cifar-10-batches-bin");  // the tarball's sub-folder
  write_file(dir + "/data_batch_1.bin", cifar_records({1, 2}));
  write_file(dir + "/data_batch_2.bin", cifar_records({7}, 2));
  std::ofstream(dir + "/batches.meta.txt") << "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n";
  const Dataset d = read_cifar10(t.str(), true);  // the parent folder is accepted
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d.labels, std::vector<int32_t>({1, 2, 7}));
  EXPECT_EQ(d.sample(2)[0], pixel(2, 0, 0));
  EXPECT_EQ(d.class_names, std::vector<std::string>({"a", "b", "c", "d", "e", "f", "g", "h",
                                                     "i", "j"}));
}

TEST(Cifar10, TruncatedRecord) {
  TempDir t;
  std::vector<uint8_t> bytes = cifar_records({1, 2});
  bytes.resize(bytes.size() - 100);  // 6146 - 100 = 6046
  write_file(t.file("data_batch_1.bin"), bytes);
  const std::string msg = user_error_message([&] { read_cifar10(t.str(), true); });
  EXPECT_CONTAINS(msg, t.file("data_batch_1.bin"));
  EXPECT_CONTAINS(msg, "truncated");
  EXPECT_CONTAINS(msg, "expected 6146 bytes");
  EXPECT_CONTAINS(msg, "got 6046");
}

TEST(Cifar10, LabelOutOfRange) {
  TempDir t;
  write_file(t.file("test_batch.bin"), cifar_records({4, 12}));
  const std::string msg = user_error_message([&] { read_cifar10(t.str(), false); });
  EXPECT_CONTAINS(msg, "record 1");
  EXPECT_CONTAINS(msg, "is 12");
}

TEST(Cifar10, MissingBatch) {
  TempDir t;
  const std::string msg = user_error_message([&] { read_cifar10(t.str(), true); });
  EXPECT_CONTAINS(msg, "data_batch_1.bin");
  EXPECT_CONTAINS(msg, "not found");
}

}  // namespace
}  // namespace mcuprune::test
