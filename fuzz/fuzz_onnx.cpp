// ONNX import: any bytes as a .onnx file; an import that succeeds must also fold and export.
#include "export/onnx.h"
#include "export/onnx_import.h"
#include "fuzz_common.h"
#include "quant/fold.h"

using namespace mcuprune;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  fuzz::expect_clear_error([&] {
    ImportedOnnx m = import_onnx(bytes, "model.onnx");
    if (m.graph.nodes.size() <= 64) (void)export_onnx_float(fold_for_inference(m.graph, m.weights));
  });
  return 0;
}
