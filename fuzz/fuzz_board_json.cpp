// Board JSON files (--board FILE), including "base" chains that name the file itself.
#include "fuzz_common.h"
#include <nlohmann/json.hpp>

#include "resources/board.h"

using namespace mcuprune;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::put("board.json", data, size);
  fuzz::expect_clear_error([&] {
    Board b = find_board(path);
    (void)board_to_json(b);
  });
  return 0;
}
