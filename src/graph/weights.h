// Named float32 weight tensors of a model and their self-describing file format
// (docs/model-format.md): magic "MCPWGT01", a JSON header of names, shapes and offsets,
// then little-endian float32 data. Names are "<node>.<param>" (see the doc).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mcuprune {

class Graph;

struct WeightTensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
  int64_t numel() const;
};

using WeightMap = std::map<std::string, WeightTensor>;

std::string weights_to_bytes(const WeightMap& w);
WeightMap weights_from_bytes(const std::string& bytes, const std::string& where);
void save_weights(const std::string& path, const WeightMap& w);  // atomic
WeightMap load_weights(const std::string& path);

// The parameter names and shapes the graph's nodes own, in node order:
// conv2d: weight [O, I, kh, kw], bias [O]; depthwise_conv2d: weight [C*m, 1, kh, kw], bias;
// dense: weight [out, in], bias [out]; batchnorm: gamma, beta, running_mean, running_var [C].
std::vector<std::pair<std::string, std::vector<int64_t>>> expected_weight_shapes(const Graph& g);

// Throws UserError naming the first missing, extra or mis-shaped tensor.
void check_weights_match(const Graph& g, const WeightMap& w, const std::string& where);

}  // namespace mcuprune
