// Weight files (weights.h) and atomic file writes (io.h).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include <unistd.h>

#include "common/expect_error.h"
#include "graph/graph.h"
#include "graph/io.h"
#include "graph/weights.h"

namespace mcuprune {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

using test::Contains;
using test::user_error_of;

class WeightsIoFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("mcuprune_weights_io_" + std::to_string(::getpid()) + "_" +
                                        info->test_suite_name() + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // Names of the files under dir_ (recursively) that contain ".tmp".
  std::vector<std::string> tmp_leftovers() const {
    std::vector<std::string> r;
    for (const auto& e : fs::recursive_directory_iterator(dir_))
      if (e.path().filename().string().find(".tmp") != std::string::npos)
        r.push_back(e.path().string());
    return r;
  }
  fs::path dir_;
};

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

WeightTensor tensor(std::vector<int64_t> shape, float start) {
  WeightTensor t;
  t.shape = std::move(shape);
  t.data.resize(size_t(t.numel()));
  for (size_t i = 0; i < t.data.size(); ++i) t.data[i] = start + 0.25f * float(i);
  return t;
}

// Tensors with awkward values: signed zero, NaN payloads, infinities, denormals.
WeightMap sample_weights() {
  WeightMap w;
  w["conv1.weight"] = tensor({2, 1, 3, 3}, -1.0f);
  w["conv1.bias"] = tensor({2}, 0.5f);
  WeightTensor odd;
  odd.shape = {7};
  odd.data = {-0.0f,
              std::numeric_limits<float>::infinity(),
              -std::numeric_limits<float>::infinity(),
              from_bits(0x7fc00001u),  // quiet NaN with a payload
              from_bits(0xffa00000u),  // negative NaN
              std::numeric_limits<float>::denorm_min(),
              std::numeric_limits<float>::max()};
  w["bn.gamma"] = odd;
  w["fc.weight"] = tensor({3, 5}, 100.0f);
  return w;
}

void expect_bit_exact(const WeightMap& a, const WeightMap& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) {
    SCOPED_TRACE(name);
    auto it = b.find(name);
    ASSERT_NE(it, b.end());
    EXPECT_EQ(it->second.shape, t.shape);
    ASSERT_EQ(it->second.data.size(), t.data.size());
    for (size_t i = 0; i < t.data.size(); ++i)
      EXPECT_EQ(bits(it->second.data[i]), bits(t.data[i])) << "element " << i;
  }
}

uint64_t read_u64_le(const std::string& s, size_t at) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | uint8_t(s[at + size_t(i)]);
  return v;
}

// The tiny graph used for expected_weight_shapes/check_weights_match.
Graph tiny_graph() {
  GraphBuilder b("tiny", {8, 8, 3});
  int x = b.conv(b.input(), 4, 3, 1, Padding::Same, "c1");
  x = b.batchnorm(x, "bn");
  x = b.relu(x, "r");
  Node dw;
  dw.kind = OpKind::DepthwiseConv2D;
  dw.name = "dw";
  dw.inputs = {x};
  dw.kernel_h = 3, dw.kernel_w = 1;
  dw.depth_multiplier = 2;
  dw.padding = Padding::Same;
  dw.use_bias = false;
  x = b.append(dw);  // 8x8x8
  x = b.flatten(x, "f");  // 512
  b.dense(x, 5, "fc");
  return b.finish();
}

WeightMap weights_for(const Graph& g) {
  WeightMap w;
  float v = 0;
  for (const auto& [name, shape] : expected_weight_shapes(g)) {
    w[name] = tensor(shape, v);
    v += 1;
  }
  return w;
}

// ------------------------------------------------------------------ weights format

TEST(Weights, BytesRoundTripIsBitExact) {
  WeightMap w = sample_weights();
  WeightMap back = weights_from_bytes(weights_to_bytes(w), "memory");
  expect_bit_exact(w, back);
  EXPECT_TRUE(std::isnan(back["bn.gamma"].data[3]));
  EXPECT_TRUE(std::signbit(back["bn.gamma"].data[0]));
  // Empty map.
  EXPECT_TRUE(weights_from_bytes(weights_to_bytes({}), "empty").empty());
}

TEST(Weights, FileLayout) {
  WeightMap w = sample_weights();
  std::string bytes = weights_to_bytes(w);
  ASSERT_GE(bytes.size(), 16u);
  EXPECT_EQ(bytes.substr(0, 8), "MCPWGT01");
  uint64_t hl = read_u64_le(bytes, 8);
  ASSERT_LE(16 + hl, bytes.size());
  json h = json::parse(bytes.substr(16, hl));
  EXPECT_EQ(h["format"], "mcuprune-weights");
  EXPECT_EQ(h["version"], 1);
  EXPECT_EQ(h["byte_order"], "little");
  // Data starts at the first multiple of 64 after the header; padding is zeros.
  size_t data_start = (16 + hl + 63) / 64 * 64;
  for (size_t i = 16 + hl; i < data_start; ++i) EXPECT_EQ(bytes[i], '\0') << i;
  // Tensors are listed by name (sorted) and packed back to back.
  ASSERT_EQ(h["tensors"].size(), 4u);
  uint64_t expect_offset = 0;
  std::string prev;
  for (const auto& t : h["tensors"]) {
    std::string name = t.at("name");
    SCOPED_TRACE(name);
    EXPECT_LT(prev, name);
    prev = name;
    EXPECT_EQ(t.at("dtype"), "float32");
    EXPECT_EQ(t.at("shape").get<std::vector<int64_t>>(), w[name].shape);
    EXPECT_EQ(t.at("offset").get<uint64_t>(), expect_offset);
    EXPECT_EQ(t.at("bytes").get<uint64_t>(), w[name].data.size() * 4);
    // Each value is a little-endian float32 at data_start + offset.
    for (size_t i = 0; i < w[name].data.size(); ++i) {
      size_t at = data_start + expect_offset + 4 * i;
      uint32_t u = uint32_t(uint8_t(bytes[at])) | uint32_t(uint8_t(bytes[at + 1])) << 8 |
                   uint32_t(uint8_t(bytes[at + 2])) << 16 | uint32_t(uint8_t(bytes[at + 3])) << 24;
      EXPECT_EQ(u, bits(w[name].data[i]));
    }
    expect_offset += w[name].data.size() * 4;
  }
  EXPECT_EQ(bytes.size(), data_start + expect_offset);
}

TEST_F(WeightsIoFiles, SaveAndLoadWeights) {
  WeightMap w = sample_weights();
  std::string p = path("nested/model.weights");
  save_weights(p, w);
  expect_bit_exact(w, load_weights(p));
  EXPECT_EQ(read_file(p), weights_to_bytes(w));
  EXPECT_TRUE(tmp_leftovers().empty());
}

TEST(WeightsErrors, Truncated) {
  std::string bytes = weights_to_bytes(sample_weights());
  // Cut inside the data: the last tensor in name order (fc.weight) is incomplete.
  std::string cut = bytes.substr(0, bytes.size() - 4);
  EXPECT_THROW(weights_from_bytes(cut, "w.bin"), UserError);
  std::string msg = user_error_of([&] { weights_from_bytes(cut, "w.bin"); });
  EXPECT_TRUE(Contains(msg, "'w.bin'"));
  EXPECT_TRUE(Contains(msg, "truncated"));
  EXPECT_TRUE(Contains(msg, "fc.weight"));
  // Cut inside the header.
  std::string in_header = bytes.substr(0, 40);
  msg = user_error_of([&] { weights_from_bytes(in_header, "w.bin"); });
  EXPECT_TRUE(Contains(msg, "truncated"));
  EXPECT_TRUE(Contains(msg, "header"));
  // Shorter than magic + length.
  EXPECT_THROW(weights_from_bytes(bytes.substr(0, 10), "w.bin"), UserError);
  EXPECT_THROW(weights_from_bytes("", "w.bin"), UserError);
}

TEST(WeightsErrors, BadMagic) {
  std::string bytes = weights_to_bytes(sample_weights());
  bytes[7] = '2';  // "MCPWGT02"
  EXPECT_THROW(weights_from_bytes(bytes, "w.bin"), UserError);
  std::string msg = user_error_of([&] { weights_from_bytes(bytes, "w.bin"); });
  EXPECT_TRUE(Contains(msg, "'w.bin'"));
  EXPECT_TRUE(Contains(msg, "bad magic"));
  // A JSON model file given where weights are expected.
  EXPECT_TRUE(Contains(user_error_of([&] {
                         weights_from_bytes("{\"format\": \"mcuprune-model\", \"nodes\": []}", "m");
                       }),
                       "not an mcuprune weights file"));
}

// Builds a weights file from a hand-written header and data bytes.
// A weights file with the given header; a header starting with {"tensors" gets the
// format fields every real file has, so that the test reaches the tensor checks.
std::string craft(std::string header, const std::string& data) {
  const std::string t = "{\"tensors\"";
  if (header.compare(0, t.size(), t) == 0)
    header = R"({"format":"mcuprune-weights","version":1,"byte_order":"little",)" + header.substr(1);
  std::string out = "MCPWGT01";
  uint64_t hl = header.size();
  for (int i = 0; i < 8; ++i) out += char((hl >> (8 * i)) & 0xff);
  out += header;
  out.append((64 - out.size() % 64) % 64, '\0');
  return out + data;
}

TEST(WeightsErrors, HalfTruncatedFileIsReportedAsTruncatedNotAsAShapeProblem) {
  WeightMap w;
  w["big.weight"] = {{64, 64}, std::vector<float>(64 * 64, 0.5f)};
  const std::string bytes = weights_to_bytes(w);
  const std::string half = bytes.substr(0, bytes.size() / 2);
  const std::string msg = user_error_of([&] { weights_from_bytes(half, "w.bin"); });
  EXPECT_TRUE(Contains(msg, "truncated")) << msg;
  EXPECT_TRUE(Contains(msg, "big.weight")) << msg;
  EXPECT_FALSE(Contains(msg, "shape")) << msg;
}

TEST(WeightsErrors, OverlappingOrMisalignedTensorsAreRefused) {
  const std::string data(16, '\0');
  const std::string overlap = craft(
      R"({"tensors":[{"name":"a","dtype":"float32","shape":[2],"offset":0,"bytes":8},)"
      R"({"name":"b","dtype":"float32","shape":[2],"offset":4,"bytes":8}]})",
      data);
  std::string msg = user_error_of([&] { weights_from_bytes(overlap, "w.bin"); });
  EXPECT_TRUE(Contains(msg, "'a' and 'b' overlap")) << msg;
  const std::string misaligned =
      craft(R"({"tensors":[{"name":"a","dtype":"float32","shape":[2],"offset":2,"bytes":8}]})", data);
  msg = user_error_of([&] { weights_from_bytes(misaligned, "w.bin"); });
  EXPECT_TRUE(Contains(msg, "not a multiple of 4")) << msg;
  // Adjacent ranges in any order are fine.
  const std::string adjacent = craft(
      R"({"tensors":[{"name":"a","dtype":"float32","shape":[2],"offset":8,"bytes":8},)"
      R"({"name":"b","dtype":"float32","shape":[2],"offset":0,"bytes":8}]})",
      data);
  EXPECT_EQ(weights_from_bytes(adjacent, "w.bin").size(), 2u);
}

TEST(WeightsErrors, CorruptHeader) {
  std::string four(4, '\0');
  // The crafted helper itself produces readable files.
  WeightMap ok = weights_from_bytes(
      craft(R"({"tensors":[{"name":"a","dtype":"float32","shape":[1],"offset":0,"bytes":4}]})",
            four),
      "ok");
  ASSERT_EQ(ok.count("a"), 1u);
  EXPECT_EQ(ok["a"].data, std::vector<float>({0.0f}));

  EXPECT_TRUE(Contains(user_error_of([&] { weights_from_bytes(craft("{nope", ""), "w"); }),
                       "corrupt weights header"));
  EXPECT_TRUE(Contains(user_error_of([&] { weights_from_bytes(craft("{}", ""), "w"); }),
                       "unsupported weights header"));
  std::string f16 =
      craft(R"({"tensors":[{"name":"a","dtype":"float16","shape":[2],"offset":0,"bytes":4}]})",
            four);
  std::string msg = user_error_of([&] { weights_from_bytes(f16, "w"); });
  EXPECT_TRUE(Contains(msg, "'a'"));
  EXPECT_TRUE(Contains(msg, "unsupported dtype"));
  std::string nb =
      craft(R"({"tensors":[{"name":"a","dtype":"float32","shape":[2],"offset":0,"bytes":4}]})",
            four + four);
  EXPECT_TRUE(Contains(user_error_of([&] { weights_from_bytes(nb, "w"); }),
                       "holds 4 bytes but its shape [2] needs 8"));
  std::string off =
      craft(R"({"tensors":[{"name":"a","dtype":"float32","shape":[1],"offset":4,"bytes":4}]})",
            four);
  EXPECT_TRUE(Contains(user_error_of([&] { weights_from_bytes(off, "w"); }), "truncated"));
}

// Regression (fixed; src/graph/weights.cpp, weights_from_bytes): the header's numbers are used without
// range/overflow checks.
//  - "offset": -64 is converted by nlohmann to 2^64 - 64, so data_start + offset wraps
//    around to byte 0 and the check against the file size passes: the corrupt file is
//    accepted and tensor 'a' silently reads the magic "MCPW" as its value.
//  - a header length near 2^64 wraps 16 + length the same way and is accepted.
//  - shape [2^62] with "bytes": 0 passes the byte-count check (4 * 2^62 wraps to 0) and
//    then vector::resize throws std::length_error, not UserError.
//  - negative dimensions ([-1, -1], numel 1) are accepted.
TEST(WeightsErrors, HeaderNumbersAreRangeChecked) {
  std::string four(4, '\0');
  std::string neg_offset =
      craft(R"({"tensors":[{"name":"a","dtype":"float32","shape":[1],"offset":-64,"bytes":4}]})",
            four);
  EXPECT_THROW(weights_from_bytes(neg_offset, "w.bin"), UserError);

  std::string huge_header = craft(R"({"tensors":[]})", "");
  const uint64_t hl = std::numeric_limits<uint64_t>::max() - 15;  // 16 + hl == 0 (mod 2^64)
  for (int i = 0; i < 8; ++i) huge_header[8 + size_t(i)] = char((hl >> (8 * i)) & 0xff);
  EXPECT_THROW(weights_from_bytes(huge_header, "w.bin"), UserError);

  std::string huge_dim = craft(
      R"({"tensors":[{"name":"a","dtype":"float32","shape":[4611686018427387904],"offset":0,"bytes":0}]})",
      "");
  EXPECT_THROW(weights_from_bytes(huge_dim, "w.bin"), UserError);

  std::string neg_dims = craft(
      R"({"tensors":[{"name":"a","dtype":"float32","shape":[-1,-1],"offset":0,"bytes":4}]})", four);
  EXPECT_THROW(weights_from_bytes(neg_dims, "w.bin"), UserError);
}

TEST(Weights, DataSizeMismatchIsAProgrammingError) {
  WeightMap w;
  w["a"].shape = {2, 2};
  w["a"].data = {1, 2, 3};
  EXPECT_THROW(weights_to_bytes(w), std::logic_error);
}

TEST(Weights, NumelOfShapes) {
  EXPECT_EQ(tensor({2, 3, 4}, 0).numel(), 24);
  EXPECT_EQ(WeightTensor{}.numel(), 1);  // a scalar has shape []
  EXPECT_EQ((WeightTensor{{5, 0}, {}}.numel()), 0);
}

// ------------------------------------------------------------------ graph <-> weights

TEST(Weights, ExpectedWeightShapesOfTinyGraph) {
  Graph g = tiny_graph();
  using Entry = std::pair<std::string, std::vector<int64_t>>;
  std::vector<Entry> want = {
      {"c1.weight", {4, 3, 3, 3}},             // OIHW
      {"c1.bias", {4}},
      {"bn.gamma", {4}},
      {"bn.beta", {4}},
      {"bn.running_mean", {4}},
      {"bn.running_var", {4}},
      {"dw.weight", {8, 1, 3, 1}},             // [C * multiplier, 1, kh, kw], no bias
      {"fc.weight", {5, 512}},                 // [out, in], in = 8 * 8 * 8
      {"fc.bias", {5}},
  };
  EXPECT_EQ(expected_weight_shapes(g), want);
  // The tensors hold exactly the parameters counted by graph_params_with_bn.
  int64_t total = 0;
  for (const auto& [name, shape] : want) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    total += n;
  }
  EXPECT_EQ(total, graph_params_with_bn(g));
}

TEST(Weights, CheckWeightsMatch) {
  Graph g = tiny_graph();
  WeightMap w = weights_for(g);
  EXPECT_NO_THROW(check_weights_match(g, w, "w.bin"));

  WeightMap missing = w;
  missing.erase("bn.running_var");
  EXPECT_THROW(check_weights_match(g, missing, "w.bin"), UserError);
  std::string msg = user_error_of([&] { check_weights_match(g, missing, "w.bin"); });
  EXPECT_TRUE(Contains(msg, "'w.bin'"));
  EXPECT_TRUE(Contains(msg, "'bn.running_var'"));
  EXPECT_TRUE(Contains(msg, "has no tensor"));

  WeightMap wrong = w;
  wrong["c1.weight"] = tensor({4, 3, 3, 2}, 0);
  msg = user_error_of([&] { check_weights_match(g, wrong, "w.bin"); });
  EXPECT_TRUE(Contains(msg, "'c1.weight'"));
  EXPECT_TRUE(Contains(msg, "[4, 3, 3, 2]"));
  EXPECT_TRUE(Contains(msg, "[4, 3, 3, 3]"));
  // Same element count, transposed layout ([in, out] instead of [out, in]).
  WeightMap transposed = w;
  transposed["fc.weight"] = tensor({512, 5}, 0);
  msg = user_error_of([&] { check_weights_match(g, transposed, "w.bin"); });
  EXPECT_TRUE(Contains(msg, "[512, 5]"));
  EXPECT_TRUE(Contains(msg, "[5, 512]"));

  WeightMap extra = w;
  extra["dw.bias"] = tensor({8}, 0);  // dw has use_bias = false
  msg = user_error_of([&] { check_weights_match(g, extra, "w.bin"); });
  EXPECT_TRUE(Contains(msg, "'dw.bias'"));
  EXPECT_TRUE(Contains(msg, "no node"));
}

// ------------------------------------------------------------------ write_file_atomic

TEST_F(WeightsIoFiles, WriteFileAtomicWritesAndOverwrites) {
  std::string p = path("out.bin");
  std::string content("first\0with a NUL\n", 17);
  write_file_atomic(p, content);
  EXPECT_EQ(read_file(p), content);
  EXPECT_EQ(fs::file_size(p), 17u);
  // Overwrite with shorter content: no stale tail.
  write_file_atomic(p, "2nd");
  EXPECT_EQ(read_file(p), "2nd");
  write_file_atomic(p, "");
  EXPECT_EQ(read_file(p), "");
  EXPECT_TRUE(tmp_leftovers().empty());
}

TEST_F(WeightsIoFiles, WriteFileAtomicCreatesParentDirectories) {
  std::string p = path("a/b/c/file.txt");
  write_file_atomic(p, "deep");
  EXPECT_TRUE(fs::is_directory(path("a/b/c")));
  EXPECT_EQ(read_file(p), "deep");
  for (int i = 0; i < 5; ++i) write_file_atomic(p, "again " + std::to_string(i));
  EXPECT_EQ(read_file(p), "again 4");
  EXPECT_TRUE(tmp_leftovers().empty());
  // Exactly one file in the directory.
  int files = 0;
  for (const auto& e : fs::directory_iterator(path("a/b/c"))) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
}

TEST_F(WeightsIoFiles, WriteFileAtomicParentIsAFile) {
  write_file_atomic(path("plain"), "x");
  std::string p = path("plain/child.txt");
  EXPECT_THROW(write_file_atomic(p, "y"), UserError);
  std::string msg = user_error_of([&] { write_file_atomic(p, "y"); });
  EXPECT_TRUE(Contains(msg, p));
  EXPECT_EQ(read_file(path("plain")), "x");  // untouched
  EXPECT_TRUE(tmp_leftovers().empty());
}

TEST_F(WeightsIoFiles, WriteFileAtomicTargetIsADirectory) {
  fs::create_directories(path("d"));
  EXPECT_THROW(write_file_atomic(path("d"), "y"), UserError);
  EXPECT_TRUE(fs::is_directory(path("d")));
  EXPECT_TRUE(tmp_leftovers().empty());
}

TEST_F(WeightsIoFiles, ReadFileErrors) {
  std::string missing = path("none.bin");
  std::string msg = user_error_of([&] { read_file(missing); });
  EXPECT_TRUE(Contains(msg, missing));
  EXPECT_TRUE(Contains(msg, "does not exist"));
  EXPECT_TRUE(Contains(user_error_of([&] { read_file(dir_.string()); }), "is a directory"));
  EXPECT_TRUE(Contains(user_error_of([&] { load_weights(missing); }), missing));
}

// Values no model can hold are refused with the tensor and index named.
TEST(WeightsErrors, NonFiniteValuesAndNegativeVariancesAreRefused) {
  Graph g = tiny_graph();
  WeightMap w;
  for (const auto& [name, shape] : expected_weight_shapes(g)) {
    WeightTensor t;
    t.shape = shape;
    t.data.assign(size_t(t.numel()), 0.5f);
    w[name] = t;
  }
  EXPECT_NO_THROW(check_weights_match(g, w, "ok.bin"));
  WeightMap nan = w;
  nan["c1.weight"].data[7] = std::nanf("");
  EXPECT_TRUE(test::Contains(test::user_error_of([&] { check_weights_match(g, nan, "nan.bin"); }),
                             "tensor 'c1.weight' holds NaN at index 7"));
  WeightMap inf = w;
  inf["fc.bias"].data[0] = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(test::Contains(test::user_error_of([&] { check_weights_match(g, inf, "inf.bin"); }), "infinite"));
  WeightMap var = w;
  var["bn.running_var"].data[2] = -1.0f;
  EXPECT_TRUE(test::Contains(test::user_error_of([&] { check_weights_match(g, var, "var.bin"); }), "negative variance"));
}

// Writes go through symbolic links (the link stays a link) and never replace a device.
TEST_F(WeightsIoFiles, WritesKeepLinksAndDevices) {
  write_file_atomic(path("target.txt"), "old");
  fs::create_symlink(path("target.txt"), path("link.txt"));
  write_file_atomic(path("link.txt"), "new");
  EXPECT_TRUE(fs::is_symlink(path("link.txt")));
  EXPECT_EQ(read_file(path("target.txt")), "new");
  write_file_atomic("/dev/null", "discarded");
  EXPECT_TRUE(fs::is_character_file("/dev/null"));
  fs::create_directories(path("adir"));
  EXPECT_TRUE(test::Contains(test::user_error_of([&] { write_file_atomic(path("adir"), "x"); }), "is a directory"));
  EXPECT_TRUE(tmp_leftovers().empty());
}

// A killed writer's temporary file is recognised by its dead process id and removed; a
// live process's is not, nor are other files.
TEST_F(WeightsIoFiles, StaleTemporariesOfDeadProcessesAreRemoved) {
  write_file_atomic(path("model.json.tmp999999_42"), "left by a killed run");  // no such pid
  write_file_atomic(path("report.json.tmp" + std::to_string(::getppid()) + "_7"), "a live writer's");
  write_file_atomic(path("notes.tmp.txt"), "a user's file");
  EXPECT_TRUE(is_stale_temporary("model.json.tmp999999_42"));
  EXPECT_FALSE(is_stale_temporary("model.json"));
  EXPECT_EQ(remove_stale_temporaries(dir_.string()), 1);
  EXPECT_FALSE(fs::exists(path("model.json.tmp999999_42")));
  EXPECT_TRUE(fs::exists(path("notes.tmp.txt")));
  // A user's file that merely looks like one: a pid no Linux gives, or a name the
  // directory's writer does not write.
  EXPECT_FALSE(is_stale_temporary("backup.tmp999999999_1"));
  auto model_files = [](const std::string& base) { return base == "model.json"; };
  EXPECT_FALSE(is_stale_temporary("notes.tmp999999_1", model_files));
  EXPECT_TRUE(is_stale_temporary("model.json.tmp999999_1", model_files));
}

}  // namespace
}  // namespace mcuprune
