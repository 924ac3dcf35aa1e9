// Reader for image-folder datasets (root/<class>/<image>): class ids are the sorted
// sub-folder names, images are decoded with stb_image and optionally converted to a
// fixed shape with our own bilinear resize.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <memory>

#include "data/dataset.h"
#include "data/file_io.h"
#include "graph/graph.h"

// stb_image is header-only; this is the one translation unit that compiles it. STATIC
// keeps its symbols private so linking a system libstb elsewhere cannot clash.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
// A corrupt file can declare huge chunks (a PNG IDAT length of 2 GiB) that stb_image would
// allocate before it finds the data missing: its allocations are capped (the largest image
// mcuprune decodes, 2^26 pixels of 4 bytes, plus slack); past the cap stb_image reports
// "outofmem", which becomes a clear error.
#include <cstdlib>
namespace {
constexpr size_t kStbMaxAlloc = (size_t(1) << 28) + (size_t(1) << 24);
void* capped_malloc(size_t n) { return n > kStbMaxAlloc ? nullptr : std::malloc(n); }
void* capped_realloc(void* p, size_t n) { return n > kStbMaxAlloc ? nullptr : std::realloc(p, n); }
}  // namespace
#define STBI_MALLOC(sz) capped_malloc(sz)
#define STBI_REALLOC(p, newsz) capped_realloc(p, newsz)
#define STBI_FREE(p) std::free(p)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#include <stb/stb_image.h>
#pragma GCC diagnostic pop

namespace fs = std::filesystem;

namespace mcuprune {

namespace {
constexpr int kMaxImageSide = 16384;
constexpr int64_t kMaxImagePixels = int64_t(1) << 26;
}  // namespace

namespace {

const char* const kExtensions[] = {".png", ".jpg", ".jpeg", ".bmp", ".tga",
                                   ".gif", ".ppm", ".pgm", ".pnm"};

bool is_image_name(const fs::path& p) {
  std::string ext = p.extension().string();
  for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
  return std::find(std::begin(kExtensions), std::end(kExtensions), ext) !=
         std::end(kExtensions);
}

bool is_hidden(const fs::path& p) {
  const std::string n = p.filename().string();
  return !n.empty() && n[0] == '.';
}

std::string extension_list() {
  std::string s;
  for (const char* e : kExtensions) s += (s.empty() ? "" : " ") + std::string(e);
  return s;
}

std::string size_str(int h, int w, int c) {
  return std::to_string(h) + "x" + std::to_string(w) + "x" + std::to_string(c) +
         " (height x width x channels)";
}

// A binary PGM/PPM header ("P5"/"P6", then width, height and maximum value as decimal text,
// with whitespace and '#' comments between) is read here before stb_image sees it: stb_image
// accumulates those numbers in an int without an overflow check. The tokens are taken the way
// stb_image takes them; a number of more than 9 digits is refused.
void check_pnm_header(const std::vector<uint8_t>& b, const std::string& fname) {
  if (b.size() < 2 || b[0] != 'P' || (b[1] != '5' && b[1] != '6')) return;
  size_t i = 2;
  const auto space = [](uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  for (const char* what : {"width", "height", "maximum value"}) {
    for (;;) {  // whitespace, then a comment to the end of its line, repeated
      while (i < b.size() && space(b[i])) ++i;
      if (i >= b.size() || b[i] != '#') break;
      while (i < b.size() && b[i] != '\n' && b[i] != '\r') ++i;
    }
    size_t digits = 0;
    while (i < b.size() && b[i] >= '0' && b[i] <= '9') ++i, ++digits;
    if (digits > 9)
      throw UserError("image '" + fname + "' is a PGM/PPM whose header gives a " + what + " of " +
                      std::to_string(digits) + " digits; the file is damaged: remove it or re-save it");
  }
}

// Bilinear resize with pixel centres at +0.5 (the OpenCV/PIL convention), so a 2x
// downscale averages pixel pairs instead of shifting the image by half a pixel.
void resize_bilinear(const uint8_t* src, int sh, int sw, uint8_t* dst, int dh, int dw,
                     int c) {
  const float sy_scale = float(sh) / float(dh), sx_scale = float(sw) / float(dw);
  for (int y = 0; y < dh; ++y) {
    const float fy = std::max(0.0f, (y + 0.5f) * sy_scale - 0.5f);
    const int y0 = std::min(int(fy), sh - 1), y1 = std::min(y0 + 1, sh - 1);
    const float wy = fy - float(y0);
    for (int x = 0; x < dw; ++x) {
      const float fx = std::max(0.0f, (x + 0.5f) * sx_scale - 0.5f);
      const int x0 = std::min(int(fx), sw - 1), x1 = std::min(x0 + 1, sw - 1);
      const float wx = fx - float(x0);
      for (int k = 0; k < c; ++k) {
        auto at = [&](int yy, int xx) { return float(src[(size_t(yy) * sw + xx) * c + k]); };
        const float a = at(y0, x0), b = at(y0, x1), p = at(y1, x0), q = at(y1, x1);
        const float v = (a * (1 - wx) + b * wx) * (1 - wy) + (p * (1 - wx) + q * wx) * wy;
        dst[(size_t(y) * dw + x) * c + k] = uint8_t(std::clamp(std::lround(v), 0L, 255L));
      }
    }
  }
}

Dataset read_image_folder_impl(const std::string& dir, const ImageFolderOptions& opt) {
  if (opt.height < 0 || opt.width < 0 || (opt.height > 0) != (opt.width > 0))
    throw UserError("image folder '" + dir + "': height and width must both be > 0 (resize " +
                    "to that size) or both be 0 (keep the images' size); got height " +
                    std::to_string(opt.height) + ", width " + std::to_string(opt.width));
  if (opt.channels < 0 || opt.channels > 4)
    throw UserError("image folder '" + dir + "': channels must be 0 (as stored), 1 (grey), " +
                    "2 (grey+alpha), 3 (RGB) or 4 (RGBA); got " + std::to_string(opt.channels));
  if (!data_detail::is_dir(dir))
    throw UserError("image folder '" + dir + "' not found or not a directory: expected " +
                    "one sub-folder per class holding its images (" + dir +
                    "/<class>/<image>.png)");

  // Sorted names make class ids independent of the filesystem's listing order.
  std::vector<fs::path> class_dirs;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && !is_hidden(e.path())) class_dirs.push_back(e.path());
  std::sort(class_dirs.begin(), class_dirs.end());
  if (class_dirs.empty())
    throw UserError("image folder '" + dir + "' has no class folders: expected one " +
                    "sub-folder per class holding its images (" + dir +
                    "/<class>/<image>.png); images directly in it are not used");

  Dataset d;
  d.name = fs::path(dir).filename().string();
  if (d.name.empty()) d.name = fs::path(dir).parent_path().filename().string();
  d.num_classes = int(class_dirs.size());
  const bool resize = opt.height > 0;
  std::string first_file;  // the image that fixed the shape, for error messages
  for (size_t cls = 0; cls < class_dirs.size(); ++cls) {
    d.class_names.push_back(class_dirs[cls].filename().string());
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(class_dirs[cls])) {
      if (is_hidden(e.path()) || !is_image_name(e.path())) continue;
      // An image name that is not a regular file (a FIFO, a device, a dangling link) is an
      // error, not a silently smaller class.
      data_detail::refuse_special_file(e.path().string(), "image");
      files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    if (files.empty())
      throw UserError("class folder '" + class_dirs[cls].string() + "' has no images (" +
                      extension_list() + "): add images or remove the folder, since an " +
                      "empty class cannot be trained or evaluated");

    for (const fs::path& file : files) {
      const std::string fname = file.string();
      const std::vector<uint8_t> bytes = data_detail::read_file_bytes(fname, "image", false);
      int w = 0, h = 0, comp = 0;
      check_pnm_header(bytes, fname);
      if (bytes.empty() || !stbi_info_from_memory(bytes.data(), int(bytes.size()), &w, &h, &comp))
        throw UserError("image '" + fname + "' cannot be decoded (" +
                        (bytes.empty() ? "empty file" : stbi_failure_reason()) +
                        "); remove it or re-save it as PNG, JPEG or BMP");
      if (w <= 0 || h <= 0 || comp < 1 || comp > 4)
        throw UserError("image '" + fname + "' declares " + std::to_string(w) + "x" + std::to_string(h) +
                        " pixels with " + std::to_string(comp) + " channel(s): not an image " +
                        "mcuprune can use; remove it or re-save it as PNG, JPEG or BMP");
      // Decoding allocates what the header declares: refuse absurd sizes before that.
      if (w > kMaxImageSide || h > kMaxImageSide || int64_t(w) * h > kMaxImagePixels)
        throw UserError("image '" + fname + "' declares " + std::to_string(w) + "x" + std::to_string(h) +
                        " pixels, more than mcuprune decodes (" + std::to_string(kMaxImageSide) + " a side, " +
                        std::to_string(kMaxImagePixels) + " in all); downscale it or remove it");
      if (first_file.empty()) {
        first_file = fname;
        d.height = resize ? opt.height : h;
        d.width = resize ? opt.width : w;
        d.channels = opt.channels > 0 ? opt.channels : comp;
      }
      if (opt.channels == 0 && comp != d.channels)
        throw UserError("image '" + fname + "' has " + std::to_string(comp) + " channel(s) " +
                        "but the first image '" + first_file + "' has " +
                        std::to_string(d.channels) + "; re-save the images consistently or " +
                        "set the channel count (e.g. 3) to convert all of them");
      if (!resize && (h != d.height || w != d.width))
        throw UserError("image '" + fname + "' is " + size_str(h, w, comp) +
                        " but the first image '" + first_file + "' is " +
                        size_str(d.height, d.width, d.channels) +
                        "; all images must have the same size, or set a height and width " +
                        "to resize them");
      int w2 = 0, h2 = 0, comp2 = 0;
      std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
          stbi_load_from_memory(bytes.data(), int(bytes.size()), &w2, &h2, &comp2,
                                d.channels),
          stbi_image_free);
      if (!pixels)
        throw UserError("image '" + fname + "' cannot be decoded (" + stbi_failure_reason() +
                        "); remove it or re-save it as PNG, JPEG or BMP");
      if (w2 != w || h2 != h)
        throw UserError("image '" + fname + "' declares " + std::to_string(w) + "x" + std::to_string(h) +
                        " pixels in its header but decodes to " + std::to_string(w2) + "x" +
                        std::to_string(h2) + "; the file is damaged: remove it or re-save it");
      const size_t at = d.images.size();
      d.images.resize(at + d.sample_bytes());
      if (resize && (h2 != d.height || w2 != d.width))
        resize_bilinear(pixels.get(), h2, w2, d.images.data() + at, d.height, d.width, d.channels);
      else
        std::copy(pixels.get(), pixels.get() + d.sample_bytes(), d.images.data() + at);
      d.labels.push_back(int32_t(cls));
    }
  }
  return d;
}

}  // namespace

Dataset read_image_folder(const std::string& dir, const ImageFolderOptions& opt) {
  try {
    return read_image_folder_impl(dir, opt);
  } catch (const fs::filesystem_error& e) {
    // Listing can fail on permissions or a folder vanishing mid-read; report it as the
    // user's problem with the path rather than an internal error.
    throw UserError("image folder '" + dir + "' could not be listed: " + e.what() +
                    "; check the folder's permissions");
  }
}

}  // namespace mcuprune
