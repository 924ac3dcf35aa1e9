// Reader for IDX files, the MNIST / Fashion-MNIST format: a big-endian header (magic,
// dimension sizes) followed by raw uint8 data. Images (idx3) and labels (idx1) come in
// separate files, either of which may be gzip-compressed.
#include <filesystem>

#include "data/dataset.h"
#include "data/file_io.h"
#include "graph/graph.h"

namespace mcuprune {

using data_detail::hex32;
using data_detail::read_be32;

namespace {

constexpr uint32_t kImagesMagic = 0x00000803;  // type u8 (0x08), 3 dimensions
constexpr uint32_t kLabelsMagic = 0x00000801;  // type u8 (0x08), 1 dimension

// The decompressed size is what the header talks about, so say so for .gz files.
std::string size_note(const std::string& path) {
  return path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0
             ? " (after decompression)"
             : "";
}

void check_magic(const std::vector<uint8_t>& bytes, const std::string& path,
                 uint32_t expected, const std::string& what, const std::string& hint) {
  if (bytes.size() < 4)
    throw UserError(what + " '" + path + "' is truncated: expected at least 4 bytes for " +
                    "the magic number, got " + std::to_string(bytes.size()) + size_note(path) +
                    "; re-download it");
  const uint32_t magic = read_be32(bytes.data());
  if (magic != expected)
    throw UserError(what + " '" + path + "' has the wrong magic number: expected " +
                    hex32(expected) + ", found " + hex32(magic) + "; " + hint);
}

}  // namespace

Dataset read_idx(const std::string& images_path, const std::string& labels_path,
                 int num_classes) {
  if (num_classes <= 0 || num_classes > 256)
    throw UserError("read_idx: num_classes must be in 1..256 (labels are bytes), got " +
                    std::to_string(num_classes));

  // --- images ---
  const std::string iw = "IDX image file";
  std::vector<uint8_t> img = data_detail::read_file_bytes(images_path, iw, true, [](const uint8_t* p, size_t n) {
    if (n < 16) return uint64_t(0);
    const unsigned __int128 v = (unsigned __int128)read_be32(p + 4) * read_be32(p + 8) * read_be32(p + 12) + 16;
    return v > UINT64_MAX ? UINT64_MAX : uint64_t(v);
  });
  check_magic(img, images_path, kImagesMagic, iw,
              kLabelsMagic == (img.size() >= 4 ? read_be32(img.data()) : 0)
                  ? "this looks like a label file; pass the *-images-idx3-ubyte file here"
                  : "it must be an idx3-ubyte image file (uint8, N x H x W)");
  if (img.size() < 16)
    throw UserError(iw + " '" + images_path + "' is truncated: expected a 16-byte header, " +
                    "got " + std::to_string(img.size()) + " bytes" + size_note(images_path) +
                    "; re-download it");
  const uint32_t n = read_be32(img.data() + 4);
  const uint32_t h = read_be32(img.data() + 8);
  const uint32_t w = read_be32(img.data() + 12);
  if (h == 0 || w == 0 || h > 65536 || w > 65536)
    throw UserError(iw + " '" + images_path + "' declares images of " + std::to_string(h) +
                    "x" + std::to_string(w) + " pixels, which is not a usable size; the " +
                    "header is probably corrupt");
  const uint64_t expected_img = 16 + uint64_t(n) * h * w;
  if (img.size() < expected_img)
    throw UserError(iw + " '" + images_path + "' is truncated: its header declares " +
                    std::to_string(n) + " images of " + std::to_string(h) + "x" +
                    std::to_string(w) + ", so expected " + std::to_string(expected_img) +
                    " bytes, got " + std::to_string(img.size()) + size_note(images_path) +
                    "; re-download it");
  if (img.size() > expected_img)
    throw UserError(iw + " '" + images_path + "' has " +
                    std::to_string(img.size() - expected_img) + " bytes of extra data after " +
                    "the " + std::to_string(n) + " images its header declares (expected " +
                    std::to_string(expected_img) + " bytes, got " + std::to_string(img.size()) +
                    "); the file is corrupt or not an IDX file");

  // --- labels ---
  const std::string lw = "IDX label file";
  const std::vector<uint8_t> lab = data_detail::read_file_bytes(labels_path, lw, true, [](const uint8_t* p, size_t n) {
    return n < 8 ? uint64_t(0) : 8 + uint64_t(read_be32(p + 4));
  });
  check_magic(lab, labels_path, kLabelsMagic, lw,
              kImagesMagic == (lab.size() >= 4 ? read_be32(lab.data()) : 0)
                  ? "this looks like an image file; pass the *-labels-idx1-ubyte file here"
                  : "it must be an idx1-ubyte label file (uint8, N)");
  if (lab.size() < 8)
    throw UserError(lw + " '" + labels_path + "' is truncated: expected an 8-byte header, " +
                    "got " + std::to_string(lab.size()) + " bytes" + size_note(labels_path) +
                    "; re-download it");
  const uint32_t nl = read_be32(lab.data() + 4);
  const uint64_t expected_lab = 8 + uint64_t(nl);
  if (lab.size() < expected_lab)
    throw UserError(lw + " '" + labels_path + "' is truncated: its header declares " +
                    std::to_string(nl) + " labels, so expected " +
                    std::to_string(expected_lab) + " bytes, got " +
                    std::to_string(lab.size()) + size_note(labels_path) + "; re-download it");
  if (lab.size() > expected_lab)
    throw UserError(lw + " '" + labels_path + "' has " +
                    std::to_string(lab.size() - expected_lab) + " bytes of extra data after " +
                    "the " + std::to_string(nl) + " labels its header declares (expected " +
                    std::to_string(expected_lab) + " bytes, got " + std::to_string(lab.size()) +
                    "); the file is corrupt or not an IDX file");
  if (nl != n)
    throw UserError("image/label count mismatch: '" + images_path + "' holds " +
                    std::to_string(n) + " images but '" + labels_path + "' holds " +
                    std::to_string(nl) + " labels; pair files of the same split (train-* " +
                    "with train-*, t10k-* with t10k-*)");

  Dataset d;
  d.name = std::filesystem::path(images_path).filename().string();
  d.height = int(h);
  d.width = int(w);
  d.channels = 1;
  d.num_classes = num_classes;
  for (int c = 0; c < num_classes; ++c) d.class_names.push_back(std::to_string(c));
  d.labels.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    const int v = lab[8 + i];
    if (v >= num_classes)
      throw UserError(lw + " '" + labels_path + "': label of sample " + std::to_string(i) +
                      " is " + std::to_string(v) + ", out of range for num_classes = " +
                      std::to_string(num_classes) + " (labels must be 0.." +
                      std::to_string(num_classes - 1) + "); check the file or the class " +
                      "count");
    d.labels[i] = v;
  }
  // Drop the header in place rather than copying: the train set is ~47 MB.
  img.erase(img.begin(), img.begin() + 16);
  d.images = std::move(img);
  return d;
}

}  // namespace mcuprune
