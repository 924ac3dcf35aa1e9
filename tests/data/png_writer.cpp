// Compiles stb_image_write once for the tests (STATIC keeps its symbols private) and
// exposes the one function they need: writing a PNG fixture.
#include <filesystem>

#include "test_util.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

namespace mcuprune::test {

void write_png(const std::string& path, int h, int w, int c, const std::vector<uint8_t>& px) {
  ASSERT_EQ(px.size(), size_t(h) * w * c) << path;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  ASSERT_NE(stbi_write_png(path.c_str(), w, h, c, px.data(), w * c), 0) << "writing " << path;
}

}  // namespace mcuprune::test
