// IDX reader (MNIST format, raw or gzip): the input is split in two by its first byte into an
// image file and a label file.
#include "data/dataset.h"
#include "fuzz_common.h"

using namespace mcuprune;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t cut = std::min<size_t>(size - 1, size_t(data[0]) * 4);
  const std::string img = fuzz::put("idx/images", data + 1, cut);
  const std::string lab = fuzz::put("idx/labels", data + 1 + cut, size - 1 - cut);
  fuzz::expect_clear_error([&] { read_idx(img, lab, 10); });
  return 0;
}
