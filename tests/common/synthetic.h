// Test fixtures shared by the LibTorch suites: a tiny synthetic image task and a
// self-removing temporary directory.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>

#include "data/dataset.h"

namespace mcuprune::test {

// 4 classes of side x side x 1 images: class k has a bright quadrant k, plus seeded noise.
// Validation holds a few samples of each class; test is the training set.
inline DatasetSplits quadrant_task(int side, int per_class, uint64_t seed) {
  Dataset d;
  d.name = "synthetic";
  d.height = d.width = side;
  d.channels = 1;
  d.num_classes = 4;
  d.class_names = {"tl", "tr", "bl", "br"};
  const int half = side / 2;
  std::mt19937_64 rng(seed);
  for (int k = 0; k < 4; ++k)
    for (int s = 0; s < per_class; ++s) {
      for (int y = 0; y < side; ++y)
        for (int x = 0; x < side; ++x) {
          bool on = (y / half) * 2 + (x / half) == k;
          d.images.push_back(uint8_t((on ? 150 : 30) + rng() % 60));
        }
      d.labels.push_back(k);
    }
  DatasetSplits s;
  s.train = d;
  s.val = d.subset({0, 1, size_t(per_class), size_t(2 * per_class), size_t(3 * per_class)}, "val");
  s.test = d;
  return s;
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    static int n = 0;
    path = std::filesystem::temp_directory_path() /
           ("mcuprune_test_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    std::filesystem::remove_all(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string str() const { return path.string(); }
};

}  // namespace mcuprune::test
