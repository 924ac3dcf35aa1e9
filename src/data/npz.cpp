// NumPy .npz datasets (np.savez / np.savez_compressed): x_train, y_train, x_test, y_test and
// optional x_val, y_val, read with libzip; each array in the .npy format (magic, version,
// a Python-literal header with descr, fortran_order and shape, then the raw values).
#include <zip.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include "data/dataset.h"
#include "data/file_io.h"
#include "data/npz.h"

namespace mcuprune {

namespace {

struct NpyArray {
  std::string name;        // "x_train"
  char kind = 0;           // 'f', 'i', 'u', 'b'
  int item = 0;            // bytes per value
  bool big_endian = false;
  std::vector<int64_t> shape;
  std::string data;        // raw values, C order
  int64_t count() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  // Value i as a double (integers exactly up to 2^53).
  double at(int64_t i) const {
    unsigned char b[8];
    std::memcpy(b, data.data() + i * item, size_t(item));
    if (big_endian) std::reverse(b, b + item);
    switch (kind) {
      case 'f':
        if (item == 4) { float f; std::memcpy(&f, b, 4); return f; }
        { double d; std::memcpy(&d, b, 8); return d; }
      case 'u': case 'b': {
        uint64_t v = 0;
        std::memcpy(&v, b, size_t(item));  // little-endian host
        return double(v);
      }
      default: {
        int64_t v = 0;
        std::memcpy(&v, b, size_t(item));
        const int shift = 64 - 8 * item;
        v = int64_t(uint64_t(v) << shift) >> shift;  // sign-extend
        return double(v);
      }
    }
  }
};

[[noreturn]] void bad(const std::string& file, const std::string& array, const std::string& what) {
  throw UserError(".npz dataset '" + file + "'" + (array.empty() ? "" : ", array '" + array + "'") + ": " + what);
}

// The value of `key` in the header dict: the text after "'key':" up to the next top-level comma.
std::string header_value(const std::string& h, const std::string& key) {
  size_t at = h.find("'" + key + "'");
  if (at == std::string::npos) at = h.find("\"" + key + "\"");
  if (at == std::string::npos) return "";
  at = h.find(':', at);
  if (at == std::string::npos) return "";
  ++at;
  while (at < h.size() && h[at] == ' ') ++at;
  int depth = 0;
  size_t e = at;
  for (; e < h.size(); ++e) {
    if (h[e] == '(' || h[e] == '[') ++depth;
    if (h[e] == ')' || h[e] == ']') --depth;
    if ((h[e] == ',' || h[e] == '}') && depth == 0) break;
  }
  std::string v = h.substr(at, e - at);
  while (!v.empty() && v.back() == ' ') v.pop_back();
  return v;
}

NpyArray parse_npy(const std::string& file, const std::string& name, std::string bytes) {
  NpyArray a;
  a.name = name;
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0)
    bad(file, name, "not a .npy array (no \\x93NUMPY magic); save it with numpy.savez");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len = 0, start = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (size_t(static_cast<unsigned char>(bytes[9])) << 8);
    start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) bad(file, name, "truncated .npy header");
    for (int i = 0; i < 4; ++i) header_len |= size_t(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    start = 12;
  } else {
    bad(file, name, ".npy format version " + std::to_string(major) + " is not known (1, 2 and 3 are)");
  }
  if (start + header_len > bytes.size()) bad(file, name, "truncated .npy header");
  const std::string h = bytes.substr(start, header_len);
  std::string descr = header_value(h, "descr");
  const std::string order = header_value(h, "fortran_order");
  std::string shape = header_value(h, "shape");
  if (descr.size() < 4 || (descr.front() != '\'' && descr.front() != '"'))
    bad(file, name, "its dtype (" + (descr.empty() ? std::string("missing") : descr) +
                        ") is not a plain numeric type; use float32, uint8 or int8 values and integer labels");
  descr = descr.substr(1, descr.size() - 2);
  const char endian = descr[0];
  a.kind = descr[1];
  try {
    a.item = std::stoi(descr.substr(2));
  } catch (...) {
    a.item = 0;
  }
  const bool known = (a.kind == 'f' && (a.item == 4 || a.item == 8)) ||
                     ((a.kind == 'i' || a.kind == 'u') && (a.item == 1 || a.item == 2 || a.item == 4 || a.item == 8)) ||
                     (a.kind == 'b' && a.item == 1);
  if (!known || descr.size() != 2 + std::to_string(a.item).size() || (endian != '<' && endian != '>' && endian != '|' && endian != '='))
    bad(file, name, "dtype '" + descr + "' is not supported; use float32 (or float64), uint8 or int8 values and integer labels");
  a.big_endian = endian == '>';
  if (order.find("True") != std::string::npos)
    bad(file, name, "is stored in Fortran order; save numpy.ascontiguousarray(x) instead");
  if (shape.size() < 2 || shape.front() != '(' || shape.back() != ')') bad(file, name, "its header has no shape");
  std::string inner = shape.substr(1, shape.size() - 2);
  size_t p = 0;
  while (p < inner.size()) {
    while (p < inner.size() && (inner[p] == ' ' || inner[p] == ',')) ++p;
    if (p >= inner.size()) break;
    size_t q = p;
    while (q < inner.size() && std::isdigit(static_cast<unsigned char>(inner[q]))) ++q;
    if (q == p || q - p > 12) bad(file, name, "its shape '" + shape + "' is not a tuple of sizes");
    a.shape.push_back(std::stoll(inner.substr(p, q - p)));
    p = q;
    while (p < inner.size() && inner[p] == ' ') ++p;
    if (p < inner.size() && inner[p] != ',') bad(file, name, "its shape '" + shape + "' is not a tuple of sizes");
  }
  const int64_t n = a.count();
  if (n < 0 || n > (int64_t(1) << 40)) bad(file, name, "its shape is too large");
  const size_t need = size_t(n) * size_t(a.item);
  if (bytes.size() - start - header_len != need)
    bad(file, name, "holds " + std::to_string(bytes.size() - start - header_len) + " bytes of data but its shape " +
                        shape + " and dtype need " + std::to_string(need) + " (truncated or damaged)");
  a.data = bytes.substr(start + header_len);
  return a;
}

std::map<std::string, NpyArray> read_npz_arrays(const std::string& path) {
  data_detail::refuse_special_file(path, ".npz dataset");
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err);
  if (!z) {
    zip_error_t e;
    zip_error_init_with_code(&e, err);
    std::string msg = zip_error_strerror(&e);
    zip_error_fini(&e);
    bad(path, "", "cannot be opened as a zip archive (" + msg + "); write it with numpy.savez or numpy.savez_compressed");
  }
  struct Closer {
    zip_t* z;
    ~Closer() { zip_discard(z); }
  } closer{z};
  std::map<std::string, NpyArray> out;
  const zip_int64_t n = zip_get_num_entries(z, 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    if (zip_stat_index(z, zip_uint64_t(i), 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME) || !(st.valid & ZIP_STAT_SIZE))
      bad(path, "", "a zip entry cannot be read (damaged archive)");
    std::string name = st.name;
    if (name.size() < 4 || name.substr(name.size() - 4) != ".npy") continue;
    name = name.substr(0, name.size() - 4);
    if (st.size > (uint64_t(1) << 34)) bad(path, name, "is larger than 16 GiB");
    zip_file_t* f = zip_fopen_index(z, zip_uint64_t(i), 0);
    if (!f) bad(path, name, std::string("cannot be decompressed (") + zip_strerror(z) + ")");
    std::string bytes(size_t(st.size), '\0');
    const zip_int64_t got = bytes.empty() ? 0 : zip_fread(f, bytes.data(), st.size);
    const bool ok = got == zip_int64_t(st.size);
    zip_fclose(f);
    if (!ok) bad(path, name, "is truncated or its compressed data is damaged");
    out.emplace(name, parse_npy(path, name, std::move(bytes)));
  }
  return out;
}

// Images/features array -> dataset samples; labels -> int labels.
Dataset to_dataset(const std::string& path, const NpyArray& x, const NpyArray& y, const std::string& name) {
  if (x.shape.size() < 2 || x.shape.size() > 4)
    bad(path, x.name, "has shape of " + std::to_string(x.shape.size()) +
                          " dimensions; give N x H x W x C (or N x H x W, or N x F)");
  if (y.kind == 'f' || y.kind == 'b') bad(path, y.name, "labels must be integers (class indices)");
  if (y.shape.size() != 1 && !(y.shape.size() == 2 && y.shape[1] == 1))
    bad(path, y.name, "labels must be a vector of N class indices (one-hot labels: save y.argmax(1))");
  if (y.shape[0] != x.shape[0])
    bad(path, y.name, "has " + std::to_string(y.shape[0]) + " labels but " + x.name + " has " +
                          std::to_string(x.shape[0]) + " samples");
  Dataset d;
  d.name = name;
  d.height = int(x.shape[1]);
  d.width = x.shape.size() >= 3 ? int(x.shape[2]) : 1;
  d.channels = x.shape.size() == 4 ? int(x.shape[3]) : 1;
  for (int64_t dim : x.shape)
    if (dim < 0 || dim > 65535) bad(path, x.name, "a dimension of " + std::to_string(dim) + " is out of range");
  const int64_t n = x.shape[0];
  const size_t per = d.sample_values();
  if (per == 0) bad(path, x.name, "samples have no values");
  d.labels.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) {
    const double v = y.at(i);
    if (v < 0 || v > 65535)
      bad(path, y.name, "label " + std::to_string(int64_t(v)) + " of sample " + std::to_string(i) +
                            " is not a class index in [0, 65535]");
    d.labels[size_t(i)] = int32_t(v);
  }
  if (x.kind == 'u' && x.item == 1) {
    d.images.assign(x.data.begin(), x.data.end());  // uint8 pixels: value = pixel / 255
  } else {
    d.float_samples = true;
    d.features.resize(size_t(n) * per);
    for (size_t i = 0; i < d.features.size(); ++i) {
      const double v = x.at(int64_t(i));
      if (!std::isfinite(v) || std::fabs(v) > 3e38)
        bad(path, x.name, "value " + std::to_string(i) + " (sample " + std::to_string(i / per) +
                              ") is not a finite float32");
      d.features[i] = float(v);
    }
  }
  return d;
}

}  // namespace

DatasetSplits read_npz(const std::string& path, std::vector<std::string>& notes) {
  auto arrays = read_npz_arrays(path);
  for (const char* need : {"x_train", "y_train", "x_test", "y_test"})
    if (!arrays.count(need)) {
      std::string have;
      for (const auto& [k, v] : arrays) have += (have.empty() ? "" : ", ") + k;
      bad(path, "", std::string("has no array '") + need + "' (it has: " + (have.empty() ? "none" : have) +
                        "); save x_train, y_train, x_test, y_test (and optionally x_val, y_val)");
    }
  if (arrays.count("x_val") != arrays.count("y_val"))
    bad(path, "", "has only one of x_val and y_val; give both or neither");
  std::string base = path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
  if (base.size() > 4) base = base.substr(0, base.size() - 4);
  DatasetSplits s;
  s.train = to_dataset(path, arrays.at("x_train"), arrays.at("y_train"), base + "/train");
  s.test = to_dataset(path, arrays.at("x_test"), arrays.at("y_test"), base + "/test");
  const bool has_val = arrays.count("x_val");
  if (has_val) s.val = to_dataset(path, arrays.at("x_val"), arrays.at("y_val"), base + "/val");
  for (Dataset* d : {&s.test, has_val ? &s.val : nullptr}) {
    if (!d) continue;
    if (d->height != s.train.height || d->width != s.train.width || d->channels != s.train.channels ||
        d->float_samples != s.train.float_samples)
      bad(path, "", "x_train's samples are " + std::to_string(s.train.height) + "x" + std::to_string(s.train.width) +
                        "x" + std::to_string(s.train.channels) + " but " + d->name + "'s are " +
                        std::to_string(d->height) + "x" + std::to_string(d->width) + "x" +
                        std::to_string(d->channels) + " (or of another dtype); all splits must match");
  }
  int classes = 0;
  for (const Dataset* d : {&s.train, &s.test, &s.val})
    for (int32_t l : d->labels) classes = std::max(classes, int(l) + 1);
  if (classes < 2) bad(path, "y_train", "labels name fewer than 2 classes");
  for (Dataset* d : {&s.train, &s.test, &s.val}) {
    d->num_classes = classes;
    for (int c = 0; c < classes; ++c) d->class_names.push_back(std::to_string(c));
    if (d == &s.val && !has_val) {
      d->height = s.train.height, d->width = s.train.width, d->channels = s.train.channels;
      d->float_samples = s.train.float_samples;
    }
  }
  notes.push_back(std::string(".npz dataset: ") + std::to_string(s.train.size()) + " / " +
                  (has_val ? std::to_string(s.val.size()) : std::string("(carved)")) + " / " +
                  std::to_string(s.test.size()) + " samples of " + std::to_string(s.train.height) + "x" +
                  std::to_string(s.train.width) + "x" + std::to_string(s.train.channels) + ", " +
                  (s.train.float_samples ? "float values" : "uint8 pixels (value = pixel / 255)") + ", " +
                  std::to_string(classes) + " classes");
  return s;
}

}  // namespace mcuprune
