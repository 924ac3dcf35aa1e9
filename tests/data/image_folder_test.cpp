// Tests of the image-folder reader with PNGs written by stb_image_write: class ids from
// sorted folder names, exact pixels, resize/convert options and the layout errors.
#include <filesystem>

#include "data/dataset.h"
#include "test_util.h"

namespace mcuprune::test {
namespace {

// An h x w x c image whose pixels encode (seed, position), so each file is distinct.
std::vector<uint8_t> pattern(int h, int w, int c, int seed) {
  std::vector<uint8_t> px(size_t(h) * w * c);
  for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t(seed * 40 + i * 5);
  return px;
}

// root/cat/{a,b}.png and root/dog/{a,b}.png, 4x5 RGB; "dog" is written first on purpose.
void make_folder(const std::string& root) {
  write_png(root + "/dog/b.png", 4, 5, 3, pattern(4, 5, 3, 3));
  write_png(root + "/dog/a.png", 4, 5, 3, pattern(4, 5, 3, 2));
  write_png(root + "/cat/a.png", 4, 5, 3, pattern(4, 5, 3, 0));
  write_png(root + "/cat/b.png", 4, 5, 3, pattern(4, 5, 3, 1));
}

TEST(ImageFolder, ReadsSortedClassesAndExactPixels) {
  TempDir t;
  make_folder(t.file("pets"));
  std::ofstream(t.file("pets/dog/notes.txt")) << "not an image, ignored";
  const Dataset d = read_image_folder(t.file("pets"));
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d.height, 4);
  EXPECT_EQ(d.width, 5);
  EXPECT_EQ(d.channels, 3);
  EXPECT_EQ(d.num_classes, 2);
  EXPECT_EQ(d.class_names, std::vector<std::string>({"cat", "dog"}));
  EXPECT_EQ(d.labels, std::vector<int32_t>({0, 0, 1, 1}));
  EXPECT_EQ(d.name, "pets");
  // Files are sorted within a class: sample 2 is dog/a.png (seed 2). PNG is lossless.
  for (int s = 0; s < 4; ++s) {
    const std::vector<uint8_t> want = pattern(4, 5, 3, s);
    EXPECT_TRUE(std::equal(want.begin(), want.end(), d.sample(s))) << "sample " << s;
  }
}

TEST(ImageFolder, WrongSizeImageIsNamed) {
  TempDir t;
  make_folder(t.file("pets"));
  write_png(t.file("pets/dog/c.png"), 4, 6, 3, pattern(4, 6, 3, 9));
  const std::string msg = user_error_message([&] { read_image_folder(t.file("pets")); });
  EXPECT_CONTAINS(msg, "c.png");
  EXPECT_CONTAINS(msg, "4x6x3");
  EXPECT_CONTAINS(msg, "4x5x3");
  EXPECT_CONTAINS(msg, "cat/a.png");  // the image that set the expected size

  // With a target size the odd image is resized instead.
  ImageFolderOptions opt;
  opt.height = 4;
  opt.width = 5;
  EXPECT_EQ(read_image_folder(t.file("pets"), opt).size(), 5u);
}

TEST(ImageFolder, EmptyClassFolder) {
  TempDir t;
  make_folder(t.file("pets"));
  std::filesystem::create_directories(t.file("pets/bird"));
  std::ofstream(t.file("pets/bird/readme.txt")) << "no images here";
  const std::string msg = user_error_message([&] { read_image_folder(t.file("pets")); });
  EXPECT_CONTAINS(msg, "bird");
  EXPECT_CONTAINS(msg, "no images");
}

TEST(ImageFolder, NoClassFolders) {
  TempDir t;
  write_png(t.file("flat/a.png"), 2, 2, 1, pattern(2, 2, 1, 0));
  const std::string msg = user_error_message([&] { read_image_folder(t.file("flat")); });
  EXPECT_CONTAINS(msg, t.file("flat"));
  EXPECT_CONTAINS(msg, "no class folders");
}

TEST(ImageFolder, UndecodableImage) {
  TempDir t;
  make_folder(t.file("pets"));
  std::ofstream(t.file("pets/cat/broken.png")) << "this is not a PNG";
  const std::string msg = user_error_message([&] { read_image_folder(t.file("pets")); });
  EXPECT_CONTAINS(msg, "broken.png");
  EXPECT_CONTAINS(msg, "cannot be decoded");
}

TEST(ImageFolder, ResizeDownscaleAveragesBlocks) {
  TempDir t;
  // 4x4 grey; a 2x downscale with centred pixels averages each 2x2 block.
  const std::vector<uint8_t> px = {0,   20,  100, 100,  //
                                   40,  60,  100, 100,  //
                                   200, 200, 10,  30,   //
                                   200, 200, 50,  70};
  write_png(t.file("g/only/a.png"), 4, 4, 1, px);
  ImageFolderOptions opt;
  opt.height = 2;
  opt.width = 2;
  const Dataset d = read_image_folder(t.file("g"), opt);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d.height, 2);
  EXPECT_EQ(d.width, 2);
  EXPECT_EQ(d.channels, 1);
  EXPECT_EQ(std::vector<uint8_t>(d.images.begin(), d.images.end()),
            std::vector<uint8_t>({30, 100, 200, 40}));
}

TEST(ImageFolder, ResizeUpscaleInterpolates) {
  TempDir t;
  write_png(t.file("g/only/a.png"), 1, 2, 1, {0, 100});
  ImageFolderOptions opt;
  opt.height = 1;
  opt.width = 4;
  const Dataset d = read_image_folder(t.file("g"), opt);
  EXPECT_EQ(d.images, std::vector<uint8_t>({0, 25, 75, 100}));
}

TEST(ImageFolder, ConvertsChannels) {
  TempDir t;
  write_png(t.file("g/only/a.png"), 2, 2, 1, {10, 20, 30, 40});
  ImageFolderOptions opt;
  opt.channels = 3;
  const Dataset d = read_image_folder(t.file("g"), opt);
  ASSERT_EQ(d.channels, 3);
  EXPECT_EQ(d.images, std::vector<uint8_t>({10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40}));

  // Without a channel count, a grey image among RGB ones is an error naming it.
  write_png(t.file("g/only/b.png"), 2, 2, 3, pattern(2, 2, 3, 0));
  const std::string msg = user_error_message([&] { read_image_folder(t.file("g")); });
  EXPECT_CONTAINS(msg, "b.png");
  EXPECT_CONTAINS(msg, "channel");
}

TEST(ImageFolder, RejectsHalfSpecifiedSize) {
  TempDir t;
  make_folder(t.file("pets"));
  ImageFolderOptions opt;
  opt.height = 8;
  const std::string msg = user_error_message([&] { read_image_folder(t.file("pets"), opt); });
  EXPECT_CONTAINS(msg, "height and width");
}

}  // namespace
}  // namespace mcuprune::test
