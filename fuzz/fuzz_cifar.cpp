// CIFAR-10 binary batch reader: the input is test_batch.bin; a second part after a 0xFF 0x00
// separator, if any, is batches.meta.txt.
#include <cstring>

#include "data/dataset.h"
#include "fuzz_common.h"

using namespace mcuprune;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  size_t cut = size;
  for (size_t k = 0; k + 1 < size; ++k)
    if (data[k] == 0xFF && data[k + 1] == 0x00) {
      cut = k;
      break;
    }
  std::filesystem::remove_all(fuzz::scratch() / "cifar");
  fuzz::put("cifar/test_batch.bin", data, cut);
  if (cut + 2 <= size) fuzz::put("cifar/batches.meta.txt", data + cut + 2, size - cut - 2);
  fuzz::expect_clear_error([&] { read_cifar10((fuzz::scratch() / "cifar").string(), false); });
  return 0;
}
