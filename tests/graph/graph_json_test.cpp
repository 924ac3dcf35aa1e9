// The JSON architecture format (graph_json.h): round trips and strict error reporting.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include <unistd.h>

#include "common/expect_error.h"
#include "graph/graph.h"
#include "graph/graph_json.h"
#include "graph/io.h"
#include "graph/zoo.h"

namespace mcuprune {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

using test::Contains;
using test::user_error_of;

// Every field of two graphs' nodes, shapes included.
void expect_same_graph(const Graph& a, const Graph& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.output, b.output);
  ASSERT_EQ(a.nodes.size(), b.nodes.size());
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const Node& x = a.nodes[i];
    const Node& y = b.nodes[i];
    SCOPED_TRACE("node #" + std::to_string(i) + " '" + x.name + "'");
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.kind, y.kind);
    EXPECT_EQ(x.inputs, y.inputs);
    EXPECT_EQ(x.out_channels, y.out_channels);
    EXPECT_EQ(x.depth_multiplier, y.depth_multiplier);
    EXPECT_EQ(x.kernel_h, y.kernel_h);
    EXPECT_EQ(x.kernel_w, y.kernel_w);
    EXPECT_EQ(x.stride_h, y.stride_h);
    EXPECT_EQ(x.stride_w, y.stride_w);
    EXPECT_EQ(x.dilation_h, y.dilation_h);
    EXPECT_EQ(x.dilation_w, y.dilation_w);
    EXPECT_EQ(x.padding, y.padding);
    EXPECT_EQ(x.pad_top, y.pad_top);
    EXPECT_EQ(x.pad_bottom, y.pad_bottom);
    EXPECT_EQ(x.pad_left, y.pad_left);
    EXPECT_EQ(x.pad_right, y.pad_right);
    EXPECT_EQ(x.use_bias, y.use_bias);
    EXPECT_EQ(x.activation, y.activation);
    EXPECT_EQ(x.bn_epsilon, y.bn_epsilon);  // exact: floats survive the JSON round trip
    EXPECT_EQ(x.dropout_rate, y.dropout_rate);
    EXPECT_EQ(x.out, y.out) << x.out.str() << " vs " << y.out.str();
  }
}

class GraphJsonFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("mcuprune_graph_json_" + std::to_string(::getpid()) + "_" +
                                        info->test_suite_name() + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  void write_text(const std::string& name, const std::string& text) const {
    std::ofstream f(path(name), std::ios::binary);
    f << text;
  }
  fs::path dir_;
};

// A small graph using every op and every non-default attribute the format can carry.
Graph every_op_graph() {
  GraphBuilder b("every_op", {12, 10, 3});
  Node c;
  c.kind = OpKind::Conv2D;
  c.name = "c_explicit";
  c.inputs = {b.input()};
  c.out_channels = 8;
  c.kernel_h = 3, c.kernel_w = 2;
  c.stride_h = 2, c.stride_w = 1;
  c.dilation_h = 1, c.dilation_w = 2;
  c.padding = Padding::Explicit;
  c.pad_top = 1, c.pad_bottom = 2, c.pad_left = 0, c.pad_right = 3;
  c.use_bias = false;
  c.activation = Activation::ReLU6;
  int x = b.append(c);
  x = b.batchnorm(x, "bn");
  x = b.append([&] {
    Node n;
    n.kind = OpKind::BatchNorm;
    n.name = "bn_eps";
    n.inputs = {x};
    n.bn_epsilon = 1e-3f;
    return n;
  }());
  x = b.relu(x, "r");
  Node dw;
  dw.kind = OpKind::DepthwiseConv2D;
  dw.name = "dw";
  dw.inputs = {x};
  dw.kernel_h = dw.kernel_w = 3;
  dw.depth_multiplier = 2;
  dw.padding = Padding::Same;
  dw.dilation_h = dw.dilation_w = 2;
  dw.activation = Activation::ReLU;
  int y = b.append(dw);
  int z = b.conv(x, 16, 1, 1, Padding::Same, "pw");
  int s = b.add({y, z}, "sum");
  const int r6 = b.relu6(s, "r6");
  int m = b.maxpool(r6, 2, 2, Padding::Same, "mp");
  int a = b.avgpool(s, 3, 2, Padding::Same, "ap");
  int cat = b.concat({m, a}, "cat");
  int g = b.global_avgpool(cat, "gap");
  int f = b.flatten(g, "flat");
  int d = b.dropout(f, 0.3f, "drop");
  Node fc;
  fc.kind = OpKind::Dense;
  fc.name = "fc";
  fc.inputs = {d};
  fc.out_channels = 7;
  fc.activation = Activation::ReLU;
  const int h = b.append(fc);
  const int logits = b.dense(h, 5, "logits", /*bias=*/false);
  b.softmax(logits, "prob");
  // Every node leads to the output (a file with nodes that do not is refused).
  return b.finish();
}

// o[key], or a marker string when the key is absent (const operator[] would assert).
json field(const json& o, const std::string& key) {
  return o.contains(key) ? o.at(key) : json("<missing " + key + ">");
}

// A valid minimal model as JSON, which the error tests then break.
json small_model() {
  return json::parse(R"({
    "format": "mcuprune-model", "version": 1, "name": "small", "layout": "HWC",
    "nodes": [
      {"name": "input", "op": "input", "shape": [8, 8, 1]},
      {"name": "c1", "op": "conv2d", "inputs": ["input"], "out_channels": 4, "kernel": 3,
       "padding": "same"},
      {"name": "r1", "op": "relu", "inputs": ["c1"]},
      {"name": "gap", "op": "global_avgpool", "inputs": ["r1"]},
      {"name": "fc", "op": "dense", "inputs": ["gap"], "out_channels": 3}
    ],
    "output": "fc"
  })");
}

// ------------------------------------------------------------------ round trips

TEST(GraphJson, ZooRoundTripIsIdentical) {
  const Shape inputs[] = {{28, 28, 1}, {32, 32, 3}, {49, 10, 1}};
  for (const auto& e : zoo_entries()) {
    for (const Shape& in : inputs) {
      SCOPED_TRACE(e.name + " @ " + in.str());
      ZooOptions o;
      o.input = in;
      Graph g = zoo_build(e.name, o);
      json j = graph_to_json(g);
      Graph back = graph_from_json(j, "memory");
      expect_same_graph(g, back);
      EXPECT_EQ(graph_to_json(back), j);
      // Through text as well (what is on disk).
      Graph from_text = graph_from_json(json::parse(j.dump(2)), "text");
      expect_same_graph(g, from_text);
    }
  }
}

TEST(GraphJson, EveryOpAndAttributeRoundTrips) {
  Graph g = every_op_graph();
  json j = graph_to_json(g);
  expect_same_graph(g, graph_from_json(j, "memory"));
  expect_same_graph(g, graph_from_json(json::parse(j.dump()), "text"));
  // Spot-check what was written.
  EXPECT_EQ(j["format"], "mcuprune-model");
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["layout"], "HWC");
  EXPECT_EQ(j["name"], "every_op");
  EXPECT_EQ(j["output"], "prob");
  const json& c = j["nodes"][1];
  EXPECT_EQ(field(c, "op"), "conv2d");
  EXPECT_EQ(field(c, "inputs"), json::array({"input"}));
  EXPECT_EQ(field(c, "kernel"), json::array({3, 2}));
  EXPECT_EQ(field(c, "stride"), json::array({2, 1}));
  EXPECT_EQ(field(c, "dilation"), json::array({1, 2}));
  EXPECT_EQ(field(c, "padding"), "explicit");
  EXPECT_EQ(field(c, "pads"), json::array({1, 2, 0, 3}));
  EXPECT_EQ(field(c, "bias"), false);
  EXPECT_EQ(field(c, "activation"), "relu6");
  EXPECT_EQ(field(j["nodes"][0], "shape"), json::array({12, 10, 3}));
  EXPECT_FALSE(j["nodes"][0].contains("inputs"));
  // Only the attributes of the node's kind are written.
  const json& r = j["nodes"][g.find("r")];
  EXPECT_EQ(r.size(), 3u) << r.dump();  // name, op, inputs
  const json& dwj = j["nodes"][g.find("dw")];
  EXPECT_EQ(field(dwj, "depth_multiplier"), 2);
  EXPECT_FALSE(dwj.contains("out_channels"));
  EXPECT_FALSE(dwj.contains("pads"));
  const json& mp = j["nodes"][g.find("mp")];
  EXPECT_FALSE(mp.contains("dilation"));
  EXPECT_FALSE(mp.contains("bias"));
  EXPECT_FALSE(j["nodes"][g.find("pw")].contains("activation"));  // none is not written
}

TEST(GraphJson, DefaultsWhenKeysAreOmitted) {
  json j = json::parse(R"({
    "format": "mcuprune-model", "version": 1,
    "nodes": [
      {"name": "in", "op": "input", "shape": [9, 9, 2]},
      {"name": "c", "op": "conv2d", "inputs": ["in"], "out_channels": 4, "kernel": [3, 1]},
      {"name": "dw", "op": "depthwise_conv2d", "inputs": ["c"], "kernel": 3},
      {"name": "p", "op": "maxpool", "inputs": ["dw"], "kernel": 2, "stride": 2},
      {"name": "bn", "op": "batchnorm", "inputs": ["p"]},
      {"name": "d", "op": "dropout", "inputs": ["bn"]}
    ]
  })");
  Graph g = graph_from_json(j, "defaults.json");
  EXPECT_EQ(g.name, "model");
  EXPECT_EQ(g.output, 5);  // last node
  const Node& c = g.nodes[1];
  EXPECT_EQ(c.kernel_h, 3);
  EXPECT_EQ(c.kernel_w, 1);
  EXPECT_EQ(c.stride_h, 1);
  EXPECT_EQ(c.stride_w, 1);
  EXPECT_EQ(c.dilation_h, 1);
  EXPECT_EQ(c.padding, Padding::Valid);
  EXPECT_TRUE(c.use_bias);
  EXPECT_EQ(c.activation, Activation::None);
  EXPECT_EQ(c.out, (Shape{7, 9, 4}));
  EXPECT_EQ(g.nodes[2].depth_multiplier, 1);
  EXPECT_EQ(g.nodes[2].out, (Shape{5, 7, 4}));
  EXPECT_EQ(g.nodes[3].stride_w, 2);
  EXPECT_EQ(g.nodes[3].out, (Shape{2, 3, 4}));
  EXPECT_EQ(g.nodes[4].bn_epsilon, 1e-5f);
  EXPECT_EQ(g.nodes[5].dropout_rate, 0.0f);
}

// The complete example of docs/model-format.md.
TEST(GraphJson, DocumentationExample) {
  json j = json::parse(R"({
    "format": "mcuprune-model",
    "version": 1,
    "name": "example",
    "layout": "HWC",
    "nodes": [
      {"name": "input", "op": "input", "shape": [28, 28, 1]},
      {"name": "conv1", "op": "conv2d", "inputs": ["input"], "out_channels": 8,
       "kernel": 3, "padding": "same"},
      {"name": "conv1_bn", "op": "batchnorm", "inputs": ["conv1"]},
      {"name": "conv1_relu", "op": "relu", "inputs": ["conv1_bn"]},
      {"name": "pool1", "op": "maxpool", "inputs": ["conv1_relu"], "kernel": 2, "stride": 2},
      {"name": "flatten", "op": "flatten", "inputs": ["pool1"]},
      {"name": "dropout", "op": "dropout", "inputs": ["flatten"], "rate": 0.25},
      {"name": "logits", "op": "dense", "inputs": ["dropout"], "out_channels": 10}
    ],
    "output": "logits"
  })");
  Graph g = graph_from_json(j, "example.json");
  EXPECT_EQ(g.nodes[g.find("conv1_relu")].out, (Shape{28, 28, 8}));
  EXPECT_EQ(g.nodes[g.find("pool1")].out, (Shape{14, 14, 8}));
  EXPECT_EQ(g.nodes[g.find("flatten")].out, (Shape{1, 1, 1568}));
  EXPECT_EQ(g.output_shape(), (Shape{1, 1, 10}));
  EXPECT_EQ(graph_params(g), 15770);
  EXPECT_EQ(graph_params_with_bn(g), 15802);
  // Same graph as the builder makes.
  GraphBuilder b("example", {28, 28, 1});
  int x = b.conv(b.input(), 8, 3, 1, Padding::Same, "conv1");
  x = b.relu(b.batchnorm(x, "conv1_bn"), "conv1_relu");
  x = b.flatten(b.maxpool(x, 2, 2, Padding::Valid, "pool1"), "flatten");
  b.dense(b.dropout(x, 0.25f, "dropout"), 10, "logits");
  expect_same_graph(b.finish(), g);
}

TEST_F(GraphJsonFiles, SaveAndLoadGraph) {
  ZooOptions o;
  o.input = {32, 32, 3};
  Graph g = zoo_build("resnet8", o);
  std::string p = path("sub/dir/resnet8.json");
  save_graph(p, g);
  ASSERT_TRUE(fs::exists(p));
  std::string text = read_file(p);
  EXPECT_EQ(text.back(), '\n');
  EXPECT_TRUE(Contains(text, "\"format\": \"mcuprune-model\""));
  expect_same_graph(g, load_graph(p));
  // Overwriting with another model replaces it.
  Graph t = zoo_build("tinycnn", ZooOptions{});
  save_graph(p, t);
  expect_same_graph(t, load_graph(p));
}

// ------------------------------------------------------------------ errors

std::string from_json_error(const json& j) {
  return user_error_of([&] { graph_from_json(j, "model.json"); });
}

TEST(GraphJsonErrors, SmallModelIsValid) {
  Graph g = graph_from_json(small_model(), "model.json");
  EXPECT_EQ(g.output_shape(), (Shape{1, 1, 3}));
  EXPECT_EQ(g.name, "small");
}

TEST(GraphJsonErrors, UnknownKeyNamesNodeAndKey) {
  json j = small_model();
  j["nodes"][1]["strides"] = 2;
  EXPECT_THROW(graph_from_json(j, "model.json"), UserError);
  std::string msg = from_json_error(j);
  EXPECT_TRUE(Contains(msg, "model.json"));
  EXPECT_TRUE(Contains(msg, "'c1'"));
  EXPECT_TRUE(Contains(msg, "'strides'"));
  EXPECT_TRUE(Contains(msg, "stride"));  // the allowed keys are listed
  EXPECT_TRUE(Contains(msg, "out_channels"));
  // A key that exists, but not for this op.
  json k = small_model();
  k["nodes"][2]["kernel"] = 3;
  msg = from_json_error(k);
  EXPECT_TRUE(Contains(msg, "'r1'"));
  EXPECT_TRUE(Contains(msg, "'kernel'"));
  EXPECT_TRUE(Contains(msg, "relu"));
}

TEST(GraphJsonErrors, UnknownInputName) {
  json j = small_model();
  j["nodes"][2]["inputs"] = {"c9"};
  EXPECT_THROW(graph_from_json(j, "model.json"), UserError);
  std::string msg = from_json_error(j);
  EXPECT_TRUE(Contains(msg, "'r1'"));
  EXPECT_TRUE(Contains(msg, "'c9'"));
  EXPECT_TRUE(Contains(msg, "topological"));
  // A forward reference is reported the same way.
  json k = small_model();
  k["nodes"][2]["inputs"] = {"gap"};
  EXPECT_TRUE(Contains(from_json_error(k), "'gap' is not an earlier node"));
  // Inputs must be strings in an array.
  json l = small_model();
  l["nodes"][2]["inputs"] = {1};
  EXPECT_TRUE(Contains(from_json_error(l), "node names"));
  json m = small_model();
  m["nodes"][2]["inputs"] = "c1";
  EXPECT_TRUE(Contains(from_json_error(m), "\"inputs\" must be an array"));
}

TEST(GraphJsonErrors, BadPaddingString) {
  json j = small_model();
  j["nodes"][1]["padding"] = "SAME";
  EXPECT_THROW(graph_from_json(j, "model.json"), UserError);
  std::string msg = from_json_error(j);
  EXPECT_TRUE(Contains(msg, "'c1'"));
  EXPECT_TRUE(Contains(msg, "'SAME'"));
  EXPECT_TRUE(Contains(msg, "valid, same, explicit"));
}

TEST(GraphJsonErrors, PadsAndExplicitPadding) {
  json j = small_model();
  j["nodes"][1]["pads"] = {1, 1, 1, 1};  // padding is "same"
  EXPECT_TRUE(Contains(from_json_error(j), "only allowed with padding \"explicit\""));
  json k = small_model();
  k["nodes"][1]["padding"] = "explicit";  // no pads
  EXPECT_TRUE(Contains(from_json_error(k), "'c1'"));
  k["nodes"][1]["pads"] = {1, 1, 1};
  EXPECT_TRUE(Contains(from_json_error(k), "[top, bottom, left, right]"));
  k["nodes"][1]["pads"] = {2, 0, 0, 3};
  Graph g = graph_from_json(k, "model.json");
  // h: 8 + 2 + 0 - 3 + 1 = 8; w: 8 + 0 + 3 - 3 + 1 = 9
  EXPECT_EQ(g.nodes[1].out, (Shape{8, 9, 4}));
  EXPECT_EQ(g.nodes[1].pad_top, 2);
  EXPECT_EQ(g.nodes[1].pad_right, 3);
}

TEST(GraphJsonErrors, BadAttributeValues) {
  json j = small_model();
  j["nodes"][1]["kernel"] = "3x3";
  std::string msg = from_json_error(j);
  EXPECT_TRUE(Contains(msg, "'kernel' must be an integer or [height, width]"));
  j["nodes"][1]["kernel"] = {3, 3, 3};
  EXPECT_TRUE(Contains(from_json_error(j), "'kernel'"));
  json k = small_model();
  k["nodes"][1]["bias"] = "yes";
  EXPECT_TRUE(Contains(from_json_error(k), "'c1'"));
  json l = small_model();
  l["nodes"][1]["activation"] = "gelu";
  EXPECT_TRUE(Contains(from_json_error(l), "activation 'gelu' is not one of: none, relu, relu6"));
  json m = small_model();
  m["nodes"][1].erase("out_channels");
  EXPECT_TRUE(Contains(from_json_error(m), "missing \"out_channels\""));
  json n = small_model();
  n["nodes"][1].erase("kernel");
  EXPECT_TRUE(Contains(from_json_error(n), "missing \"kernel\""));
  json o = small_model();
  o["nodes"][0]["shape"] = {8, 8};
  EXPECT_TRUE(Contains(from_json_error(o), "[height, width, channels]"));
  json p = small_model();
  p["nodes"][0].erase("shape");
  EXPECT_TRUE(Contains(from_json_error(p), "'input'"));
  json q = small_model();
  q["nodes"][1].erase("op");
  EXPECT_TRUE(Contains(from_json_error(q), "node #1"));
}

TEST(GraphJsonErrors, IntegersBeyondAnIntAreShownAsGivenNotWrapped) {
  json j = small_model();
  j["nodes"][1]["out_channels"] = int64_t(1) << 31;  // read as int it would be -2147483648
  std::string msg = from_json_error(j);
  EXPECT_TRUE(Contains(msg, "'out_channels' is 2147483648")) << msg;
  EXPECT_FALSE(Contains(msg, "-2147483648")) << msg;
  json k = small_model();
  k["nodes"][1]["kernel"] = int64_t(1) << 40;  // read as int it would be 0
  msg = from_json_error(k);
  EXPECT_TRUE(Contains(msg, "'kernel' is 1099511627776")) << msg;
  json p = small_model();
  p["nodes"][1]["padding"] = "explicit";
  p["nodes"][1]["pads"] = {1, 1, int64_t(1) << 33, 1};
  EXPECT_TRUE(Contains(from_json_error(p), "'pads' is 8589934592"));
}

TEST(GraphJsonErrors, AnEpsilonThatFloat32CannotHoldIsNamedAsSuch) {
  json j = small_model();
  j["nodes"].insert(j["nodes"].begin() + 2, json{{"name", "bn"}, {"op", "batchnorm"}, {"inputs", {"c1"}}, {"epsilon", 1e-60}});
  j["nodes"][3]["inputs"] = {"bn"};
  const std::string msg = from_json_error(j);
  EXPECT_TRUE(Contains(msg, "epsilon 1e-60")) << msg;
  EXPECT_TRUE(Contains(msg, "1.2e-38")) << msg;
  j["nodes"][2]["epsilon"] = 1e-5;
  EXPECT_NO_THROW(graph_from_json(j, "model.json"));
}

TEST(GraphJsonErrors, WrongFormatOrVersion) {
  json j = small_model();
  j["format"] = "keras";
  EXPECT_THROW(graph_from_json(j, "model.json"), UserError);
  std::string msg = from_json_error(j);
  EXPECT_TRUE(Contains(msg, "model.json"));
  EXPECT_TRUE(Contains(msg, "mcuprune-model"));
  json no_format = small_model();
  no_format.erase("format");
  EXPECT_TRUE(Contains(from_json_error(no_format), "not an mcuprune model"));

  json v = small_model();
  v["version"] = 2;
  msg = from_json_error(v);
  EXPECT_TRUE(Contains(msg, "version 2"));
  EXPECT_TRUE(Contains(msg, "version 1"));
  json no_version = small_model();
  no_version.erase("version");
  EXPECT_TRUE(Contains(from_json_error(no_version), "unsupported model format version"));

  json l = small_model();
  l["layout"] = "CHW";
  EXPECT_TRUE(Contains(from_json_error(l), "layout must be \"HWC\""));
  EXPECT_TRUE(Contains(from_json_error(json::array()), "expected a JSON object"));
  json e = small_model();
  e["nodes"] = json::array();
  EXPECT_TRUE(Contains(from_json_error(e), "\"nodes\" must be a non-empty array"));
}

// Regression (fixed; src/graph/graph_json.cpp, graph_from_json): "format", "version" and "name" are read
// with json::value(), which throws nlohmann::json::type_error (not UserError) when the key
// holds a value of another JSON type. A model file with "version": "1" is user input and
// should give a UserError naming the file.
TEST(GraphJsonErrors, WrongTypeForTopLevelKeysIsUserError) {
  json v = small_model();
  v["version"] = "1";
  EXPECT_TRUE(Contains(from_json_error(v), "model.json"));
  json f = small_model();
  f["format"] = 1;
  EXPECT_TRUE(Contains(from_json_error(f), "model.json"));
  json n = small_model();
  n["name"] = 5;
  EXPECT_TRUE(Contains(from_json_error(n), "model.json"));
}

TEST(GraphJsonErrors, UnknownOpListsKnownOps) {
  json j = small_model();
  j["nodes"][1]["op"] = "conv3d";
  std::string msg = from_json_error(j);
  EXPECT_TRUE(Contains(msg, "'conv3d'"));
  EXPECT_TRUE(Contains(msg, "conv2d"));
  EXPECT_TRUE(Contains(msg, "depthwise_conv2d"));
}

// Regression (fixed; src/graph/graph_json.cpp, graph_from_json): an unknown "op" is reported by
// op_kind_from_name alone, so the message names neither the file nor the node, unlike
// every other error of the loader.
TEST(GraphJsonErrors, UnknownOpNamesFileAndNode) {
  json j = small_model();
  j["nodes"][1]["op"] = "conv3d";
  std::string msg = from_json_error(j);
  EXPECT_TRUE(Contains(msg, "model.json"));
  EXPECT_TRUE(Contains(msg, "c1"));
}

TEST(GraphJsonErrors, DuplicateNameAndBadOutput) {
  json j = small_model();
  j["nodes"][2]["name"] = "c1";
  std::string msg = from_json_error(j);
  EXPECT_TRUE(Contains(msg, "'c1'"));
  EXPECT_TRUE(Contains(msg, "twice"));
  json o = small_model();
  o["output"] = "logits";
  EXPECT_TRUE(Contains(from_json_error(o), "output 'logits' is not a node"));
  o["output"] = 4;
  EXPECT_TRUE(Contains(from_json_error(o), "\"output\" must be a node name"));
  // An output before the last node leaves nodes that would be counted but never run.
  o["output"] = "gap";
  EXPECT_TRUE(Contains(from_json_error(o), "node 'fc' does not lead to the output 'gap'"));
}

TEST(GraphJsonErrors, ShapeErrorsNameFileAndNode) {
  json j = small_model();
  j["nodes"][4]["inputs"] = {"r1"};  // dense on 8x8x4
  std::string msg = from_json_error(j);
  EXPECT_TRUE(Contains(msg, "model.json"));
  EXPECT_TRUE(Contains(msg, "fc (dense)"));
  EXPECT_TRUE(Contains(msg, "8x8x4"));
  json a = small_model();
  a["nodes"].push_back({{"name", "s"}, {"op", "add"}, {"inputs", {"c1", "input"}}});
  a.erase("output");
  msg = from_json_error(a);
  EXPECT_TRUE(Contains(msg, "s (add)"));
  EXPECT_TRUE(Contains(msg, "8x8x4"));
  EXPECT_TRUE(Contains(msg, "8x8x1"));
}

TEST_F(GraphJsonFiles, LoadGraphFileErrors) {
  write_text("garbage.json", "this is {not json");
  std::string p = path("garbage.json");
  EXPECT_THROW(load_graph(p), UserError);
  std::string msg = user_error_of([&] { load_graph(p); });
  EXPECT_TRUE(Contains(msg, p));
  EXPECT_TRUE(Contains(msg, "not valid JSON"));

  write_text("empty.json", "");
  EXPECT_TRUE(Contains(user_error_of([&] { load_graph(path("empty.json")); }), "not valid JSON"));

  std::string missing = path("missing.json");
  msg = user_error_of([&] { load_graph(missing); });
  EXPECT_TRUE(Contains(msg, missing));
  EXPECT_TRUE(Contains(msg, "does not exist"));

  EXPECT_TRUE(Contains(user_error_of([&] { load_graph(dir_.string()); }), "is a directory"));

  json j = small_model();
  j["nodes"][1]["padding"] = "full";
  write_text("bad.json", j.dump());
  msg = user_error_of([&] { load_graph(path("bad.json")); });
  EXPECT_TRUE(Contains(msg, path("bad.json")));
  EXPECT_TRUE(Contains(msg, "'full'"));
}

// A key given twice in one object is refused (readers disagree on which counts), naming it;
// class_names must give one name per output value.
TEST_F(GraphJsonFiles, DuplicateKeysAndClassNameCount) {
  write_text("dup.json", R"({"format": "mcuprune-model", "format": "x"})");
  std::string msg = user_error_of([&] { load_graph(path("dup.json")); });
  EXPECT_TRUE(Contains(msg, path("dup.json")));
  EXPECT_TRUE(Contains(msg, "the key \"format\" appears twice in one object"));
  // The same key in two different objects is fine.
  EXPECT_NO_THROW(parse_json_text(R"({"a": {"k": 1}, "b": {"k": 2}, "k": 3})", "ok.json"));
  EXPECT_TRUE(Contains(user_error_of([] { parse_json_text(R"({"a": [{"k": 1, "k": 2}]})", "nested.json"); }),
                       "\"k\" appears twice"));

  json j = small_model();
  j["class_names"] = {"a", "b"};
  msg = from_json_error(j);
  EXPECT_TRUE(Contains(msg, "class_names has 2 names but the output 'fc' has 3 values")) << msg;
  j["class_names"] = {"a", "b", "c"};
  EXPECT_EQ(graph_from_json(j, "model.json").class_names.size(), 3u);
}

// A model whose output is a spatial map is not a classifier: commands that train or evaluate
// refuse it with what to add.
TEST(GraphJsonErrors, SpatialOutputIsNotAClassifier) {
  json j = small_model();
  j["nodes"].erase(4);  // fc
  j["nodes"].erase(3);  // gap
  j["output"] = "r1";
  Graph g = graph_from_json(j, "model.json");
  const std::string msg = user_error_of([&] { g.check_classifier_output(); });
  EXPECT_TRUE(Contains(msg, "ends in 'r1', a 8x8x4 map")) << msg;
  EXPECT_TRUE(Contains(msg, "global average pool"));
  EXPECT_NO_THROW(graph_from_json(small_model(), "model.json").check_classifier_output());
}

}  // namespace
}  // namespace mcuprune
