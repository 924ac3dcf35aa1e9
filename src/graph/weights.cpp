// Weight file format: "MCPWGT01", u64 header length, JSON header, zero padding to a
// 64-byte boundary, then float32 data. The header lists every tensor's name, dtype,
// shape, and byte offset (relative to the data start).
#include "graph/weights.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "graph/graph.h"
#include "graph/io.h"

namespace mcuprune {

namespace {
constexpr char kMagic[9] = "MCPWGT01";
constexpr size_t kAlign = 64;

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}
}  // namespace

int64_t WeightTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string weights_to_bytes(const WeightMap& w) {
  nlohmann::json header;
  header["format"] = "mcuprune-weights";
  header["version"] = 1;
  header["byte_order"] = "little";
  auto& list = header["tensors"] = nlohmann::json::array();
  uint64_t offset = 0;
  for (const auto& [name, t] : w) {
    if (int64_t(t.data.size()) != t.numel())
      throw std::logic_error("weight '" + name + "' data size does not match its shape");
    list.push_back({{"name", name}, {"dtype", "float32"}, {"shape", t.shape},
                    {"offset", offset}, {"bytes", t.data.size() * 4}});
    offset += t.data.size() * 4;
  }
  std::string h = header.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out(kMagic, 8);
  uint64_t hl = h.size();
  out.append(reinterpret_cast<const char*>(&hl), 8);
  out += h;
  out.append((kAlign - out.size() % kAlign) % kAlign, '\0');
  for (const auto& [name, t] : w)
    out.append(reinterpret_cast<const char*>(t.data.data()), t.data.size() * 4);
  return out;
}

WeightMap weights_from_bytes(const std::string& bytes, const std::string& where) {
  if (bytes.size() < 16 || std::memcmp(bytes.data(), kMagic, 8) != 0)
    throw UserError("'" + where + "' is not an mcuprune weights file (bad magic); "
                    "expected a file written by mcuprune");
  uint64_t hl;
  std::memcpy(&hl, bytes.data() + 8, 8);
  if (hl > bytes.size() - 16)
    throw UserError("'" + where + "' is truncated: header of " + std::to_string(hl) +
                    " bytes does not fit in " + std::to_string(bytes.size()));
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(16, hl));
  } catch (const std::exception& e) {
    throw UserError("'" + where + "': corrupt weights header: " + e.what());
  }
  size_t data_start = 16 + hl;
  data_start += (kAlign - data_start % kAlign) % kAlign;
  auto text = [&](const char* key) {
    return header.contains(key) && header[key].is_string() ? header[key].get<std::string>() : std::string();
  };
  if (!header.is_object() || text("format") != "mcuprune-weights" || !header.contains("version") ||
      header["version"] != 1 || text("byte_order") != "little")
    throw UserError("'" + where + "': unsupported weights header (expected format "
                    "mcuprune-weights, version 1, byte_order little)");
  if (header.value("format", "") != "mcuprune-weights" || header.value("version", 0) != 1 ||
      header.value("byte_order", "") != "little")
    throw UserError("'" + where + "': unsupported weights header (expected format "
                    "mcuprune-weights, version 1, byte_order little)");
  if (data_start > bytes.size())
    throw UserError("'" + where + "' is truncated: no data after the header");
  const uint64_t data_bytes = bytes.size() - data_start;
  WeightMap w;
  struct Extent {
    uint64_t offset, bytes;
    std::string name;
  };
  std::vector<Extent> extents;
  try {
    for (const auto& t : header.at("tensors")) {
      std::string name = t.at("name");
      if (w.count(name)) throw UserError("'" + where + "': tensor '" + name + "' appears twice");
      if (t.at("dtype") != "float32")
        throw UserError("'" + where + "': tensor '" + name + "' has unsupported dtype " +
                        t.at("dtype").dump());
      WeightTensor wt;
      wt.shape = t.at("shape").get<std::vector<int64_t>>();
      if (!t.at("offset").is_number_unsigned() || !t.at("bytes").is_number_unsigned())
        throw UserError("'" + where + "': tensor '" + name + "' offset/bytes must be non-negative integers");
      uint64_t off = t.at("offset"), nb = t.at("bytes");
      uint64_t elems = 1;
      for (int64_t d : wt.shape) {
        if (d < 0 || (d > 0 && elems > uint64_t(Graph::kMaxElements) / uint64_t(d)))
          throw UserError("'" + where + "': tensor '" + name + "' has an invalid shape " + shape_str(wt.shape) +
                          " (dimensions must be >= 0, at most " + std::to_string(Graph::kMaxElements) +
                          " elements); the file is damaged");
        elems *= uint64_t(d);
      }
      if (nb != elems * 4)
        throw UserError("'" + where + "': tensor '" + name + "' holds " + std::to_string(nb) + " bytes but its shape " +
                        shape_str(wt.shape) + " needs " + std::to_string(elems * 4) + "; the file is damaged");
      if (off % 4 != 0)
        throw UserError("'" + where + "': tensor '" + name + "' starts at byte offset " + std::to_string(off) +
                        ", which is not a multiple of 4 (float32); the file is damaged");
      if (off > data_bytes || nb > data_bytes - off)
        throw UserError("'" + where + "' is truncated: tensor '" + name + "' needs bytes up to " +
                        std::to_string(data_start + off + nb) + ", the file has " + std::to_string(bytes.size()) +
                        "; was it copied completely? Save it again from its model directory");
      if (nb > 0) extents.push_back({off, nb, name});
      wt.data.resize(size_t(wt.numel()));
      std::memcpy(wt.data.data(), bytes.data() + data_start + off, nb);
      w[name] = std::move(wt);
    }
  } catch (const nlohmann::json::exception& e) {
    throw UserError("'" + where + "': corrupt weights header: " + e.what());
  }
  // Every tensor has bytes of its own: overlapping ranges would make two tensors share values.
  std::sort(extents.begin(), extents.end(), [](const Extent& a, const Extent& b) { return a.offset < b.offset; });
  for (size_t k = 1; k < extents.size(); ++k)
    if (extents[k].offset < extents[k - 1].offset + extents[k - 1].bytes)
      throw UserError("'" + where + "': tensors '" + extents[k - 1].name + "' and '" + extents[k].name +
                      "' overlap in the data (bytes " + std::to_string(extents[k].offset) + " to " +
                      std::to_string(extents[k - 1].offset + extents[k - 1].bytes - 1) + "); the file is damaged");
  return w;
}

void save_weights(const std::string& path, const WeightMap& w) {
  write_file_atomic(path, weights_to_bytes(w));
}

WeightMap load_weights(const std::string& path) { return weights_from_bytes(read_file(path), path); }

std::vector<std::pair<std::string, std::vector<int64_t>>> expected_weight_shapes(const Graph& g) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> r;
  for (const Node& n : g.nodes) {
    if (n.inputs.empty()) continue;
    const Shape& in = g.nodes[n.inputs[0]].out;
    switch (n.kind) {
      case OpKind::Conv2D:
        r.push_back({n.name + ".weight", {n.out.c, in.c, n.kernel_h, n.kernel_w}});
        if (n.use_bias) r.push_back({n.name + ".bias", {n.out.c}});
        break;
      case OpKind::DepthwiseConv2D:
        r.push_back({n.name + ".weight", {n.out.c, 1, n.kernel_h, n.kernel_w}});
        if (n.use_bias) r.push_back({n.name + ".bias", {n.out.c}});
        break;
      case OpKind::Dense:
        r.push_back({n.name + ".weight", {n.out.c, in.c}});
        if (n.use_bias) r.push_back({n.name + ".bias", {n.out.c}});
        break;
      case OpKind::BatchNorm:
        for (const char* p : {"gamma", "beta", "running_mean", "running_var"})
          r.push_back({n.name + "." + p, {n.out.c}});
        break;
      default:
        break;
    }
  }
  return r;
}

void check_weights_match(const Graph& g, const WeightMap& w, const std::string& where) {
  auto expected = expected_weight_shapes(g);
  for (const auto& [name, shape] : expected) {
    auto it = w.find(name);
    if (it == w.end())
      throw UserError("'" + where + "' has no tensor '" + name + "' that the architecture needs");
    if (it->second.shape != shape)
      throw UserError("'" + where + "': tensor '" + name + "' has shape " +
                      shape_str(it->second.shape) + ", the architecture needs " + shape_str(shape));
  }
  // Values a model cannot hold: NaN/Inf (a damaged file or a diverged training run), a
  // negative BatchNorm variance.
  for (const auto& [name, shape] : expected) {
    const WeightTensor& t = w.at(name);
    for (size_t k = 0; k < t.data.size(); ++k) {
      if (!std::isfinite(t.data[k]))
        throw UserError("'" + where + "': tensor '" + name + "' holds " + (std::isnan(t.data[k]) ? "NaN" : "an infinite value") +
                        " at index " + std::to_string(k) + "; the weights are damaged or the training diverged "
                        "(try a lower --lr)");
      if (t.data[k] < 0 && name.size() > 12 && name.compare(name.size() - 12, 12, ".running_var") == 0)
        throw UserError("'" + where + "': tensor '" + name + "' holds a negative variance at index " + std::to_string(k) +
                        "; a BatchNorm variance must be >= 0");
    }
  }
  if (w.size() != expected.size()) {
    for (const auto& [name, t] : w) {
      bool found = false;
      for (const auto& e : expected) found = found || e.first == name;
      if (!found)
        throw UserError("'" + where + "' has tensor '" + name +
                        "' that no node of the architecture owns");
    }
  }
}

}  // namespace mcuprune
