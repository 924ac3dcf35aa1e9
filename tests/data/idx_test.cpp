// Tests of the IDX (MNIST format) reader: raw and gzip round trips and every error the
// reader reports for damaged or mismatched files.
#include <iterator>

#include "data/dataset.h"
#include "test_util.h"

namespace mcuprune::test {
namespace {

// Three 2x3 images with distinct pixels and labels 0, 9, 4.
struct Fixture {
  std::vector<uint8_t> pixels;
  std::vector<uint8_t> labels{0, 9, 4};
  Fixture() {
    for (int i = 0; i < 3 * 2 * 3; ++i) pixels.push_back(uint8_t(i * 13 + 1));
  }
  std::vector<uint8_t> images_file() const { return idx_images(3, 2, 3, pixels); }
  std::vector<uint8_t> labels_file() const { return idx_labels(labels); }
};

void expect_matches(const Dataset& d, const Fixture& f) {
  EXPECT_EQ(d.size(), 3u);
  EXPECT_EQ(d.height, 2);
  EXPECT_EQ(d.width, 3);
  EXPECT_EQ(d.channels, 1);
  EXPECT_EQ(d.num_classes, 10);
  EXPECT_EQ(d.class_names.size(), 10u);
  EXPECT_EQ(d.images, f.pixels);
  EXPECT_EQ(d.labels, std::vector<int32_t>({0, 9, 4}));
  EXPECT_EQ(d.sample(1)[0], f.pixels[6]);
}

TEST(Idx, RawRoundTrip) {
  TempDir t;
  Fixture f;
  write_file(t.file("img"), f.images_file());
  write_file(t.file("lab"), f.labels_file());
  expect_matches(read_idx(t.file("img"), t.file("lab")), f);
}

TEST(Idx, GzipRoundTrip) {
  TempDir t;
  Fixture f;
  write_gz(t.file("img.gz"), f.images_file());
  write_gz(t.file("lab.gz"), f.labels_file());
  expect_matches(read_idx(t.file("img.gz"), t.file("lab.gz")), f);
}

TEST(Idx, GzipDetectedByContentNotName) {
  TempDir t;
  Fixture f;
  write_gz(t.file("images-without-gz-suffix"), f.images_file());
  write_file(t.file("labels.gz"), f.labels_file());  // raw despite the name
  expect_matches(read_idx(t.file("images-without-gz-suffix"), t.file("labels.gz")), f);
}

TEST(Idx, TruncatedGzipIsReported) {
  TempDir t;
  Fixture f;
  write_gz(t.file("img.gz"), f.images_file());
  std::ifstream in(t.file("img.gz"), std::ios::binary);
  std::vector<uint8_t> gz((std::istreambuf_iterator<char>(in)), {});
  gz.resize(gz.size() / 2);
  write_file(t.file("cut.gz"), gz);
  write_file(t.file("lab"), f.labels_file());
  const std::string msg = user_error_message([&] { read_idx(t.file("cut.gz"), t.file("lab")); });
  EXPECT_CONTAINS(msg, t.file("cut.gz"));
  EXPECT_CONTAINS(msg, "truncated gzip");
}

// A "gzip bomb": a header declaring 3 images of 2x3 pixels, then 64 MiB of zeros, which
// compress to ~64 KiB. Decompression stops right past the 34 declared bytes.
TEST(Idx, GzipBombStopsAtTheSizeTheHeaderDeclares) {
  TempDir t;
  Fixture f;
  std::vector<uint8_t> bomb = idx_images(3, 2, 3, f.pixels);
  bomb.resize(bomb.size() + (size_t(64) << 20), 0);
  write_gz(t.file("bomb.gz"), bomb);
  write_file(t.file("lab"), f.labels_file());
  const std::string msg = user_error_message([&] { read_idx(t.file("bomb.gz"), t.file("lab")); });
  EXPECT_CONTAINS(msg, "decompresses to more than the 34 bytes its header declares");
}

TEST(Idx, BadImageMagicShowsExpectedAndFound) {
  TempDir t;
  Fixture f;
  write_file(t.file("img"), idx_images(3, 2, 3, f.pixels, 0x12345678));
  write_file(t.file("lab"), f.labels_file());
  const std::string msg = user_error_message([&] { read_idx(t.file("img"), t.file("lab")); });
  EXPECT_CONTAINS(msg, t.file("img"));
  EXPECT_CONTAINS(msg, "magic");
  EXPECT_CONTAINS(msg, "0x00000803");
  EXPECT_CONTAINS(msg, "0x12345678");
}

TEST(Idx, SwappedFilesAreRecognised) {
  TempDir t;
  Fixture f;
  write_file(t.file("img"), f.images_file());
  write_file(t.file("lab"), f.labels_file());
  const std::string msg = user_error_message([&] { read_idx(t.file("lab"), t.file("img")); });
  EXPECT_CONTAINS(msg, "0x00000801");  // found
  EXPECT_CONTAINS(msg, "label file");  // and the hint says what it is
}

TEST(Idx, BadLabelMagic) {
  TempDir t;
  Fixture f;
  write_file(t.file("img"), f.images_file());
  write_file(t.file("lab"), idx_labels(f.labels, 0x00000802));
  const std::string msg = user_error_message([&] { read_idx(t.file("img"), t.file("lab")); });
  EXPECT_CONTAINS(msg, t.file("lab"));
  EXPECT_CONTAINS(msg, "expected 0x00000801, found 0x00000802");
}

TEST(Idx, TruncatedImages) {
  TempDir t;
  Fixture f;
  std::vector<uint8_t> img = f.images_file();  // 16 + 18 = 34 bytes
  img.resize(img.size() - 5);
  write_file(t.file("img"), img);
  write_file(t.file("lab"), f.labels_file());
  const std::string msg = user_error_message([&] { read_idx(t.file("img"), t.file("lab")); });
  EXPECT_CONTAINS(msg, t.file("img"));
  EXPECT_CONTAINS(msg, "truncated");
  EXPECT_CONTAINS(msg, "expected 34 bytes, got 29");
}

TEST(Idx, TruncatedHeader) {
  TempDir t;
  Fixture f;
  std::vector<uint8_t> img = f.images_file();
  img.resize(10);
  write_file(t.file("img"), img);
  write_file(t.file("lab"), f.labels_file());
  const std::string msg = user_error_message([&] { read_idx(t.file("img"), t.file("lab")); });
  EXPECT_CONTAINS(msg, "16-byte header");
  EXPECT_CONTAINS(msg, "got 10 bytes");
}

TEST(Idx, TruncatedLabels) {
  TempDir t;
  Fixture f;
  std::vector<uint8_t> lab = f.labels_file();  // 8 + 3 = 11 bytes
  lab.pop_back();
  write_file(t.file("img"), f.images_file());
  write_file(t.file("lab"), lab);
  const std::string msg = user_error_message([&] { read_idx(t.file("img"), t.file("lab")); });
  EXPECT_CONTAINS(msg, t.file("lab"));
  EXPECT_CONTAINS(msg, "truncated");
  EXPECT_CONTAINS(msg, "expected 11 bytes, got 10");
}

TEST(Idx, CountMismatch) {
  TempDir t;
  Fixture f;
  write_file(t.file("img"), f.images_file());
  write_file(t.file("lab"), idx_labels({1, 2}));
  const std::string msg = user_error_message([&] { read_idx(t.file("img"), t.file("lab")); });
  EXPECT_CONTAINS(msg, "mismatch");
  EXPECT_CONTAINS(msg, "3 images");
  EXPECT_CONTAINS(msg, "2 labels");
}

TEST(Idx, LabelOutOfRange) {
  TempDir t;
  Fixture f;
  write_file(t.file("img"), f.images_file());
  write_file(t.file("lab"), idx_labels({0, 10, 1}));
  const std::string msg = user_error_message([&] { read_idx(t.file("img"), t.file("lab")); });
  EXPECT_CONTAINS(msg, "sample 1");
  EXPECT_CONTAINS(msg, "is 10");
  EXPECT_CONTAINS(msg, "num_classes = 10");

  // The same labels are fine with more classes; 9 is out of range with 5.
  EXPECT_EQ(read_idx(t.file("img"), t.file("lab"), 11).labels[1], 10);
  write_file(t.file("lab"), f.labels_file());
  const std::string msg5 =
      user_error_message([&] { read_idx(t.file("img"), t.file("lab"), 5); });
  EXPECT_CONTAINS(msg5, "is 9");
  EXPECT_CONTAINS(msg5, "num_classes = 5");
}

TEST(Idx, MissingFile) {
  TempDir t;
  Fixture f;
  write_file(t.file("lab"), f.labels_file());
  const std::string msg =
      user_error_message([&] { read_idx(t.file("no-such-images"), t.file("lab")); });
  EXPECT_CONTAINS(msg, t.file("no-such-images"));
  EXPECT_CONTAINS(msg, "not found");
}

}  // namespace
}  // namespace mcuprune::test
