// Tests of the IDX (MNIST format) reader: raw and gzip round trips and every error the
// reader reports for damaged or mismatched files.
#include <iterator>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

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

#if defined(__SANITIZE_ADDRESS__)
#define MCUPRUNE_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MCUPRUNE_TEST_ASAN 1
#endif
#endif
#ifndef MCUPRUNE_TEST_ASAN
// A small gzip file whose header declares 3 GB of images, read by a process limited to 1 GiB
// of address space: a clear error before decompressing, not std::bad_alloc. (Built only
// without AddressSanitizer, whose shadow memory needs more address space than the limit.)
TEST(Idx, DeclaredSizeBeyondWhatCanBeAllocatedIsAClearError) {
  TempDir t;
  std::vector<uint8_t> head = idx_images(3000, 1000, 1000, std::vector<uint8_t>(4096, 7));
  write_gz(t.file("big.gz"), head);
  write_file(t.file("lab"), idx_labels(std::vector<uint8_t>(3000, 1)));
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(fds[0]);
    struct rlimit lim {size_t(1) << 30, size_t(1) << 30};
    ::setrlimit(RLIMIT_AS, &lim);
    std::string msg;
    try {
      read_idx(t.file("big.gz"), t.file("lab"));
      msg = "no error";
    } catch (const UserError& e) {
      msg = e.what();
    } catch (const std::bad_alloc&) {
      msg = "std::bad_alloc";
    }
    if (::write(fds[1], msg.data(), msg.size()) < 0) ::_exit(2);
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string msg;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) msg.append(buf, size_t(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_CONTAINS(msg, "decompresses to 3000000016 bytes");
  EXPECT_CONTAINS(msg, "this process can allocate (its memory limit)");
}
#endif

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
