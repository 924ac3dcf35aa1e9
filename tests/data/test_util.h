// Helpers shared by the dataset tests: a per-test temporary directory, writers for raw,
// gzipped and IDX files, and a check that a call throws UserError with a useful message.
#pragma once

#include <gtest/gtest.h>

#include "common/expect_error.h"
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace mcuprune::test {

// A fresh directory under the system temp dir, removed when the test ends. The pid and
// a counter keep parallel ctest processes from sharing one.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("mcuprune_data_test_" + std::to_string(::getpid()) + "_" +
             std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string str() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  ASSERT_TRUE(bool(f)) << "could not write " << path;
}

inline void write_gz(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << "could not open " << path;
  ASSERT_EQ(gzwrite(f, bytes.data(), unsigned(bytes.size())), int(bytes.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

inline void put_be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(uint8_t(v >> s));
}

inline std::vector<uint8_t> idx_images(uint32_t n, uint32_t h, uint32_t w,
                                       const std::vector<uint8_t>& pixels,
                                       uint32_t magic = 0x00000803) {
  std::vector<uint8_t> out;
  put_be32(out, magic);
  put_be32(out, n);
  put_be32(out, h);
  put_be32(out, w);
  out.insert(out.end(), pixels.begin(), pixels.end());
  return out;
}

inline std::vector<uint8_t> idx_labels(const std::vector<uint8_t>& labels,
                                       uint32_t magic = 0x00000801) {
  std::vector<uint8_t> out;
  put_be32(out, magic);
  put_be32(out, uint32_t(labels.size()));
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

// Writes an h x w x c (HWC) uint8 image as PNG, creating parent folders (png_writer.cpp).
void write_png(const std::string& path, int h, int w, int c, const std::vector<uint8_t>& px);

// Runs f, which must throw UserError; returns the message ("" after a failure).
template <class F>
std::string user_error_message(F&& f) {
  return user_error_of(std::function<void()>(std::forward<F>(f)));
}

}  // namespace mcuprune::test

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "message: " << (haystack)
