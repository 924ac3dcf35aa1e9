// The C runtime's sources (runtime/) and the deployment harness (firmware/), compiled into
// the binary so that `mcuprune export --format c` and `mcuprune deploy` can write them
// next to a model wherever mcuprune is installed.
#pragma once

#include <string>
#include <vector>

namespace mcuprune {

struct EmbeddedFile {
  std::string path;  // relative to runtime/, e.g. "kernels/conv.c"
  std::string content;
};

const std::vector<EmbeddedFile>& embedded_runtime_files();   // runtime/
const std::vector<EmbeddedFile>& embedded_firmware_files();  // firmware/: the deploy harness

}  // namespace mcuprune
