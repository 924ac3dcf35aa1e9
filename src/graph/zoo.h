// Built-in model zoo: tinycnn, vgg, mobilenetv2, resnet8, dscnn, each built as an IR
// graph for any input shape and class count (docs/models.md has the definitions).
// Where a model's downsampling would shrink a side below 1, that side stops shrinking.
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"

namespace mcuprune {

struct ZooOptions {
  Shape input{28, 28, 1};
  int classes = 10;
  double width = 0;  // width multiplier; 0 = the model's default
  int depth = 0;     // vgg only: 11, 13, 16 or 19; 0 = default (16)
};

struct ZooEntry {
  std::string name;
  std::string description;
  double default_width;  // 0 when the model has no width multiplier
  int default_depth;     // 0 when the model has no depth option
};

const std::vector<ZooEntry>& zoo_entries();
bool zoo_has(const std::string& name);
// Throws UserError listing the zoo's models when the name is unknown, or when an
// option does not apply (e.g. --depth for resnet8).
Graph zoo_build(const std::string& name, const ZooOptions& opt);

}  // namespace mcuprune
