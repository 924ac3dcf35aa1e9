// Runs an ONNX model with onnxruntime-node (tools/ort/run.js, installed by
// scripts/install-deps.sh): an ONNX runtime nobody in this project wrote. Test-only.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/io.h"

namespace mcuprune::test {

// HWC sample -> NCHW (batch 1) order.
inline std::vector<float> to_nchw(const std::vector<float>& hwc, const Shape& s) {
  std::vector<float> r(hwc.size());
  for (int y = 0; y < s.h; ++y)
    for (int x = 0; x < s.w; ++x)
      for (int c = 0; c < s.c; ++c) r[size_t((c * s.h + y) * s.w + x)] = hwc[size_t((y * s.w + x) * s.c + c)];
  return r;
}

// NCHW [1, C, H, W] values -> HWC (flat values are returned as they are).
inline std::vector<float> from_nchw(const std::vector<float>& chw, const Shape& s) {
  if (int64_t(chw.size()) != s.elements() || s.h * s.w == 1) return chw;
  std::vector<float> r(chw.size());
  for (int y = 0; y < s.h; ++y)
    for (int x = 0; x < s.w; ++x)
      for (int c = 0; c < s.c; ++c) r[size_t((y * s.w + x) * s.c + c)] = chw[size_t((c * s.h + y) * s.w + x)];
  return r;
}

// Per sample: every model output by name (values as float; int8 outputs hold integers).
using OrtResults = std::vector<std::map<std::string, std::vector<float>>>;

// nhwc_input: the model's input is [1, H, W, C] (as tf2onnx writes Keras models): fed as is.
inline OrtResults run_onnx(const std::string& model_bytes, const Shape& in,
                           const std::vector<std::vector<float>>& hwc_inputs, bool optimize = true,
                           bool nhwc_input = false) {
  namespace fs = std::filesystem;
  static int n = 0;
  fs::path dir = fs::temp_directory_path() / ("mcuprune_ort_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
  fs::create_directories(dir);
  write_file_atomic((dir / "model.onnx").string(), model_bytes);
  nlohmann::json req = {{"model", (dir / "model.onnx").string()},
                        {"shape", nhwc_input ? std::vector<int>{1, in.h, in.w, in.c} : std::vector<int>{1, in.c, in.h, in.w}},
                        {"optimize", optimize},
                        {"inputs", nlohmann::json::array()}};
  for (const auto& x : hwc_inputs) req["inputs"].push_back(nhwc_input ? x : to_nchw(x, in));
  write_file_atomic((dir / "req.json").string(), req.dump());
  const std::string script = std::string(MCUPRUNE_SOURCE_DIR) + "/tools/ort/run.js";
  const std::string cmd = "node '" + script + "' '" + (dir / "req.json").string() + "' '" +
                          (dir / "resp.json").string() + "'";
  if (std::system(cmd.c_str()) != 0) {
    fs::remove_all(dir);
    throw std::runtime_error("onnxruntime-node failed: " + cmd + " (run scripts/install-deps.sh?)");
  }
  nlohmann::json resp = nlohmann::json::parse(read_file((dir / "resp.json").string()));
  fs::remove_all(dir);
  OrtResults r;
  for (const auto& o : resp.at("outputs")) {
    std::map<std::string, std::vector<float>> m;
    for (auto it = o.begin(); it != o.end(); ++it) m[it.key()] = it.value().get<std::vector<float>>();
    r.push_back(std::move(m));
  }
  return r;
}

}  // namespace mcuprune::test
