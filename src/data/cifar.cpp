// Reader for the CIFAR-10 binary version (cifar-10-binary.tar.gz): fixed 3073-byte
// records of one label byte and 32x32 pixels stored as three colour planes (CHW), which
// we convert to the IR's HWC layout.
#include <fstream>
#include <sstream>

#include "data/dataset.h"
#include "data/file_io.h"
#include "graph/graph.h"

namespace mcuprune {

namespace {

constexpr int kSide = 32, kChannels = 3, kClasses = 10;
constexpr size_t kPixels = size_t(kSide) * kSide * kChannels;  // 3072
constexpr size_t kRecord = 1 + kPixels;                        // 3073

const std::vector<std::string> kDefaultNames = {"airplane", "automobile", "bird", "cat",
                                                "deer",     "dog",        "frog", "horse",
                                                "ship",     "truck"};

void append_batch(Dataset& d, const std::string& path) {
  const std::vector<uint8_t> bytes = data_detail::read_file_bytes(path, "CIFAR-10 batch");
  if (bytes.empty() || bytes.size() % kRecord != 0) {
    const size_t records = bytes.size() / kRecord;
    throw UserError("CIFAR-10 batch '" + path + "' is truncated: records are " +
                    std::to_string(kRecord) + " bytes (1 label + 3072 pixels), so expected " +
                    std::to_string((records + 1) * kRecord) + " bytes for " +
                    std::to_string(records + 1) + " record(s), got " +
                    std::to_string(bytes.size()) +
                    "; re-download the binary version (cifar-10-binary.tar.gz)");
  }
  const size_t n = bytes.size() / kRecord;
  const size_t first = d.labels.size();
  d.labels.resize(first + n);
  d.images.resize((first + n) * kPixels);
  for (size_t r = 0; r < n; ++r) {
    const uint8_t* rec = bytes.data() + r * kRecord;
    if (rec[0] >= kClasses)
      throw UserError("CIFAR-10 batch '" + path + "': label of record " + std::to_string(r) +
                      " is " + std::to_string(rec[0]) + ", out of range for num_classes = " +
                      std::to_string(kClasses) + "; is this the CIFAR-100 binary (2 label " +
                      "bytes per record)? Only CIFAR-10 is supported");
    d.labels[first + r] = rec[0];
    const uint8_t* planes = rec + 1;
    uint8_t* out = d.images.data() + (first + r) * kPixels;
    for (int p = 0; p < kSide * kSide; ++p)
      for (int c = 0; c < kChannels; ++c) out[p * kChannels + c] = planes[c * kSide * kSide + p];
  }
}

// batches.meta.txt lists one class name per line (with a trailing blank line).
std::vector<std::string> read_class_names(const std::string& dir) {
  const std::string meta = dir + "/batches.meta.txt";
  std::ifstream f(meta);
  if (!f) return kDefaultNames;
  std::vector<std::string> names;
  std::string line;
  while (std::getline(f, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  if (names.size() != size_t(kClasses))
    throw UserError("CIFAR-10 class list '" + meta + "' has " + std::to_string(names.size()) +
                    " names, expected " + std::to_string(kClasses) +
                    "; fix it or delete it to use the standard names");
  return names;
}

}  // namespace

Dataset read_cifar10(const std::string& dir_in, bool train) {
  // Accept the parent of the extracted folder too, as the tarball unpacks to a subdir.
  std::string dir = dir_in;
  if (!data_detail::is_file(dir + "/data_batch_1.bin") &&
      !data_detail::is_file(dir + "/test_batch.bin") &&
      data_detail::is_dir(dir + "/cifar-10-batches-bin"))
    dir += "/cifar-10-batches-bin";
  if (!data_detail::is_dir(dir))
    throw UserError("CIFAR-10 directory '" + dir_in + "' not found: point it at the folder " +
                    "holding data_batch_1.bin .. data_batch_5.bin and test_batch.bin");

  Dataset d;
  d.height = d.width = kSide;
  d.channels = kChannels;
  d.num_classes = kClasses;
  d.class_names = read_class_names(dir);
  if (train) {
    // data_batch_1 is required; later batches are read when present so a cut-down copy
    // (e.g. for tests or a quick run) still works.
    append_batch(d, dir + "/data_batch_1.bin");
    for (int b = 2; b <= 5; ++b) {
      const std::string p = dir + "/data_batch_" + std::to_string(b) + ".bin";
      if (data_detail::is_file(p)) append_batch(d, p);
    }
  } else {
    append_batch(d, dir + "/test_batch.bin");
  }
  d.name = train ? "cifar10/train" : "cifar10/test";
  return d;
}

}  // namespace mcuprune
