// Weights file (weights.bin): parse, then match against a small model (conv, BN, dense).
#include "fuzz_common.h"
#include "graph/weights.h"

using namespace mcuprune;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Graph g = [] {
    GraphBuilder b("fuzz", {4, 4, 1});
    int x = b.conv(0, 2, 3, 1, Padding::Same, "c");
    x = b.batchnorm(x, "bn");
    x = b.flatten(x);
    b.dense(x, 3, "fc");
    return b.finish();
  }();
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  fuzz::expect_clear_error([&] {
    WeightMap w = weights_from_bytes(bytes, "weights.bin");
    check_weights_match(g, w, "weights.bin");
    (void)weights_to_bytes(w);
  });
  return 0;
}
