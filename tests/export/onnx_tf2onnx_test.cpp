// ONNX files shaped as tf2onnx writes Keras models (built here with onnx's protobuf classes,
// since no TensorFlow is available): an NHWC input with a symbolic batch read by a transpose
// to NCHW, ZeroPadding2D as a Pad before a VALID Conv, ReLU6 as Clip with min/max inputs, a
// depthwise Conv with auto_pad SAME_UPPER, an inference BatchNormalization, Keras' Flatten as a
// transpose back to NHWC and a Reshape [-1, K], Dense as MatMul + Add, and in the opset-18
// variant GlobalAveragePooling2D as ReduceMean (axes as an input) + Squeeze and a Pad with an
// axes input. onnxruntime-node on the file must agree with our forward of the import; a pruned
// import must export with the original names and the NHWC input, and agree again.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <functional>
#include <random>
#include <stdexcept>

#include "common/expect_error.h"
#include "common/ort_compare.h"
#include "common/random_model.h"
#include "export/onnx.h"
#include "export/onnx_import.h"
#include "export/tflite_check.h"
#include "quant/fold.h"

namespace mcuprune {
namespace {

namespace ox = ONNX_NAMESPACE;

class Tf2OnnxLike {
 public:
  explicit Tf2OnnxLike(int opset) : opset_(opset), rng_(uint64_t(opset)) {
    m_.set_ir_version(opset >= 15 ? 8 : 6);  // the IR version that goes with the opset
    m_.set_producer_name("tf2onnx-like test fixture");
    auto* os = m_.add_opset_import();
    os->set_domain("");
    os->set_version(opset);
    g_ = m_.mutable_graph();
    g_->set_name("keras_model");
  }

  std::string weights(const std::string& name, const std::vector<int64_t>& dims, float lo, float hi) {
    int64_t n = 1;
    for (auto d : dims) n *= d;
    std::uniform_real_distribution<float> u(lo, hi);
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = u(rng_);
    return floats(name, dims, v);
  }
  std::string floats(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& v) {
    auto* t = g_->add_initializer();
    t->set_name(name);
    t->set_data_type(ox::TensorProto::FLOAT);
    for (auto d : dims) t->add_dims(d);
    for (float x : v) t->add_float_data(x);
    return name;
  }
  std::string int64s(const std::string& name, const std::vector<int64_t>& v) {
    auto* t = g_->add_initializer();
    t->set_name(name);
    t->set_data_type(ox::TensorProto::INT64);
    t->add_dims(int64_t(v.size()));
    for (auto x : v) t->add_int64_data(x);
    return name;
  }
  ox::NodeProto* node(const std::string& op, const std::vector<std::string>& in, const std::string& out) {
    auto* n = g_->add_node();
    n->set_op_type(op);
    n->set_name(out + "_" + op);
    for (const auto& s : in) n->add_input(s);
    n->add_output(out);
    return n;
  }
  static void ints(ox::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(ox::AttributeProto::INTS);
    for (auto x : v) a->add_ints(x);
  }
  static void integer(ox::NodeProto* n, const std::string& name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(ox::AttributeProto::INT);
    a->set_i(v);
  }
  static void text(ox::NodeProto* n, const std::string& name, const std::string& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(ox::AttributeProto::STRING);
    a->set_s(v);
  }
  void io(const std::string& name, bool input, const std::vector<int64_t>& dims) {
    auto* v = input ? g_->add_input() : g_->add_output();
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(ox::TensorProto::FLOAT);
    for (size_t k = 0; k < dims.size(); ++k) {
      auto* d = tt->mutable_shape()->add_dim();
      if (k == 0) d->set_dim_param("unk__0");  // a symbolic batch
      else d->set_dim_value(dims[k]);
    }
  }

  // The Keras model: 16x16x3 -> pad + conv 3x3/2 (8) + relu6 -> depthwise 3x3 same + BN + relu
  // -> conv 1x1 (12) + relu -> head. head_flatten: maxpool 2 + NHWC flatten + dense;
  // otherwise: spatial mean + squeeze + dense. Then softmax.
  std::string build(bool head_flatten) {
    io("input_1:0", true, {-1, 16, 16, 3});
    node("Transpose", {"input_1:0"}, "t0");
    ints(g_->mutable_node(g_->node_size() - 1), "perm", {0, 3, 1, 2});
    if (opset_ >= 18) {  // only H and W, with an axes input
      node("Pad", {"t0", int64s("pads", {0, 1, 1, 1}), floats("pad_value", {}, {0.0f}), int64s("pad_axes", {2, 3})}, "p0");
    } else {
      node("Pad", {"t0", int64s("pads", {0, 0, 0, 1, 0, 0, 1, 1})}, "p0");
    }
    auto* c1 = node("Conv", {"p0", weights("c1.w", {8, 3, 3, 3}, -0.4f, 0.4f), weights("c1.b", {8}, -0.1f, 0.1f)}, "c1");
    ints(c1, "strides", {2, 2});
    ints(c1, "kernel_shape", {3, 3});
    node("Clip", {"c1", floats("zero", {}, {0.0f}), floats("six", {}, {6.0f})}, "r1");
    auto* c2 = node("Conv", {"r1", weights("c2.w", {8, 1, 3, 3}, -0.5f, 0.5f)}, "c2");
    ints(c2, "strides", {1, 1});
    integer(c2, "group", 8);
    text(c2, "auto_pad", "SAME_UPPER");
    node("BatchNormalization", {"c2", weights("bn.g", {8}, 0.5f, 1.5f), weights("bn.b", {8}, -0.2f, 0.2f),
                                weights("bn.m", {8}, -0.3f, 0.3f), weights("bn.v", {8}, 0.5f, 2.0f)}, "b2");
    node("Relu", {"b2"}, "r2");
    node("Conv", {"r2", weights("c3.w", {12, 8, 1, 1}, -0.4f, 0.4f), weights("c3.b", {12}, -0.1f, 0.1f)}, "c3");
    node("Relu", {"c3"}, "r3");
    std::string feat;
    int64_t k = 12;
    if (head_flatten) {
      auto* mp = node("MaxPool", {"r3"}, "mp");
      ints(mp, "kernel_shape", {2, 2});
      ints(mp, "strides", {2, 2});
      ints(node("Transpose", {"mp"}, "mp_nhwc"), "perm", {0, 2, 3, 1});
      k = 4 * 4 * 12;
      node("Reshape", {"mp_nhwc", int64s("flat_shape", {-1, k})}, "flat");
      feat = "flat";
    } else {
      // ReduceMean's axes are an input from opset 18 (an attribute before); Squeeze's from 13.
      auto* mean = opset_ >= 18 ? node("ReduceMean", {"r3", int64s("mean_axes", {2, 3})}, "mean")
                                : node("ReduceMean", {"r3"}, "mean");
      if (opset_ < 18) ints(mean, "axes", {2, 3});
      integer(mean, "keepdims", 1);
      if (opset_ >= 13) node("Squeeze", {"mean", int64s("squeeze_axes", {-1, -2})}, "squeezed");
      else ints(node("Squeeze", {"mean"}, "squeezed"), "axes", {2, 3});
      feat = "squeezed";
    }
    node("MatMul", {feat, weights("dense.w", {k, 10}, -0.3f, 0.3f)}, "mm");
    node("Add", {"mm", weights("dense.b", {10}, -0.1f, 0.1f)}, "logits");
    integer(node("Softmax", {"logits"}, "Identity:0"), "axis", opset_ >= 13 ? -1 : 1);
    io("Identity:0", false, {-1, 10});
    std::string bytes;
    m_.SerializeToString(&bytes);
    return bytes;
  }

 private:
  int opset_;
  std::mt19937_64 rng_;
  ox::ModelProto m_;
  ox::GraphProto* g_;
};

struct Variant {
  int opset;
  bool head_flatten;
};

class Tf2Onnx : public ::testing::TestWithParam<Variant> {};

TEST_P(Tf2Onnx, ImportAgreesWithOnnxRuntimeAndPrunedExportKeepsTheInterface) {
  const Variant v = GetParam();
  const std::string bytes = Tf2OnnxLike(v.opset).build(v.head_flatten);
  ImportedOnnx imp = import_onnx(bytes, "keras.onnx");
  const Shape in = imp.graph.input_shape();
  EXPECT_EQ(in, (Shape{16, 16, 3}));
  EXPECT_TRUE(imp.graph.onnx_io.input_nhwc);
  EXPECT_EQ(imp.graph.onnx_io.input, "input_1:0");
  EXPECT_EQ(imp.graph.onnx_io.output, "Identity:0");
  std::mt19937_64 rng(5);
  std::normal_distribution<float> nd;
  std::vector<std::vector<float>> xs(3, std::vector<float>(size_t(in.elements())));
  for (auto& x : xs)
    for (float& e : x) e = nd(rng);
  auto check = [&](const FoldedModel& f, const std::string& model_bytes, const std::string& what) {
    test::expect_same_as_onnxruntime(f, model_bytes, xs, "Identity:0", true, what);
  };
  check(fold_for_inference(imp.graph, imp.weights), bytes, "original");

  WeightMap w = imp.weights;
  const Graph pruned = test::prune_randomly(imp.graph, w, rng);
  ASSERT_LT(graph_params(pruned), graph_params(imp.graph));
  const FoldedModel pf = fold_for_inference(pruned, w);
  const std::string exported = export_onnx_float(pf);
  ox::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(exported));
  EXPECT_EQ(m.graph().input(0).name(), "input_1:0");
  EXPECT_EQ(m.graph().output(0).name(), "Identity:0");
  const auto& dims = m.graph().input(0).type().tensor_type().shape().dim();
  ASSERT_EQ(dims.size(), 4);
  EXPECT_EQ(dims[1].dim_value(), 16);
  EXPECT_EQ(dims[3].dim_value(), 3);  // still NHWC
  check(pf, exported, "pruned export");
  // And the export re-imports with the same interface.
  ImportedOnnx again = import_onnx(exported, "pruned.onnx");
  EXPECT_TRUE(again.graph.onnx_io.input_nhwc);
  EXPECT_EQ(graph_params(again.graph), graph_params(pf.graph));
}

// Imported, int8-quantised, exported to TFLite and run by Arm NN (tflite_check.h): the
// Keras ZeroPadding2D (0, 1, 1, 1) before the stride-2 conv is one PAD (SAME would pad
// (0, 1, 0, 1)); the depthwise SAME_UPPER stays SAME.
TEST_P(Tf2Onnx, Int8TfliteRunsInArmnnAsTheIntegerReference) {
  const Variant v = GetParam();
  ImportedOnnx imp = import_onnx(Tf2OnnxLike(v.opset).build(v.head_flatten), "keras.onnx");
  const Shape in = imp.graph.input_shape();
  std::mt19937_64 rng(23);
  std::normal_distribution<float> nd;
  std::vector<std::vector<float>> samples(6, std::vector<float>(size_t(in.elements())));
  for (auto& x : samples)
    for (float& e : x) e = nd(rng);
  for (const char* runtime : {"tflm", "cmsis-nn"}) {
    SCOPED_TRACE(runtime);
    EXPECT_EQ(test::expect_tflite_runs_as_the_reference(imp.graph, imp.weights, samples, runtime), 1);
  }
}

INSTANTIATE_TEST_SUITE_P(Opsets, Tf2Onnx,
                         ::testing::Values(Variant{11, true}, Variant{11, false}, Variant{13, false}, Variant{18, false},
                                           Variant{18, true}),
                         [](const auto& info) {
                           return "opset" + std::to_string(info.param.opset) +
                                  (info.param.head_flatten ? "_flatten" : "_mean");
                         });

// What the IR cannot express is refused with the node named.
TEST(Tf2OnnxErrors, PaddingThatIsNotZerosOrNotBeforeAConvIsRefused) {
  auto with_pad_value = [](float value) {
    Tf2OnnxLike b(13);
    std::string bytes = b.build(false);
    ox::ModelProto m;
    m.ParseFromString(bytes);
    auto* g = m.mutable_graph();
    for (auto& n : *g->mutable_node())
      if (n.op_type() == "Pad") {
        auto* t = g->add_initializer();
        t->set_name("fill");
        t->set_data_type(ox::TensorProto::FLOAT);
        t->add_float_data(value);
        n.add_input("fill");
      }
    m.SerializeToString(&bytes);
    return bytes;
  };
  EXPECT_NO_THROW(import_onnx(with_pad_value(0.0f), "zero.onnx"));
  EXPECT_TRUE(test::Contains(test::user_error_of([&] { import_onnx(with_pad_value(1.0f), "one.onnx"); }), "only zero padding"));
  // A padded value read by something other than a Conv.
  Tf2OnnxLike b(13);
  std::string bytes = b.build(false);
  ox::ModelProto m;
  m.ParseFromString(bytes);
  for (auto& n : *m.mutable_graph()->mutable_node())
    if (n.op_type() == "Conv" && n.input(0) == "p0") n.set_op_type("MaxPool"), n.mutable_input()->DeleteSubrange(1, 2);
  m.SerializeToString(&bytes);
  EXPECT_TRUE(test::Contains(test::user_error_of([&] { import_onnx(bytes, "pool.onnx"); }), "only into a Conv"));
}

// A mutation of the Keras-like model -> the error it must give (never a crash).
std::string error_after(const std::function<void(ox::ModelProto&)>& mutate) {
  Tf2OnnxLike b(13);
  std::string bytes = b.build(false);
  ox::ModelProto m;
  m.ParseFromString(bytes);
  mutate(m);
  m.SerializeToString(&bytes);
  return test::user_error_of([&] { import_onnx(bytes, "bad.onnx"); });
}

ox::NodeProto& node_named(ox::ModelProto& m, const std::string& name) {
  for (auto& n : *m.mutable_graph()->mutable_node())
    if (n.name() == name) return n;
  throw std::logic_error("no node " + name);
}

void set_attr(ox::NodeProto& n, const std::string& name, int64_t i, const std::string& s = "") {
  for (auto& a : *n.mutable_attribute())
    if (a.name() == name) {
      a.set_i(i);
      a.set_s(s);
      return;
    }
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(s.empty() ? ox::AttributeProto::INT : ox::AttributeProto::STRING);
  if (s.empty()) a->set_i(i);
  else a->set_s(s);
}

TEST(OnnxImportErrors, WhatTheIrCannotExpressNamesTheNodeAndWhatIsSupported) {
  using test::Contains;
  EXPECT_TRUE(Contains(error_after([](ox::ModelProto& m) {
                         auto* t = m.mutable_graph()->mutable_initializer(0);
                         t->clear_float_data();
                         t->set_data_location(ox::TensorProto::EXTERNAL);
                         auto* e = t->add_external_data();
                         e->set_key("location");
                         e->set_value("missing_weights.bin");
                       }),
                       "external data file"));
  EXPECT_TRUE(Contains(error_after([](ox::ModelProto& m) {
                         auto* shape = m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
                         shape->mutable_dim()->DeleteSubrange(2, 2);
                       }),
                       "an image input"));
  EXPECT_TRUE(Contains(error_after([](ox::ModelProto& m) { node_named(m, "r2_Relu").set_op_type("Sigmoid"); }),
                       "node 'r2_Relu' (Sigmoid): operator not supported; supported: Conv"));
  EXPECT_TRUE(Contains(error_after([](ox::ModelProto& m) { set_attr(node_named(m, "c2_Conv"), "group", 2); }),
                       "grouped convolution with group 2"));
  EXPECT_TRUE(Contains(error_after([](ox::ModelProto& m) { set_attr(node_named(m, "c2_Conv"), "auto_pad", 0, "SAME_LOWER"); }),
                       "auto_pad SAME_LOWER is not supported"));
  EXPECT_TRUE(Contains(error_after([](ox::ModelProto& m) { m.mutable_opset_import(0)->set_version(10); }),
                       "opset 10 is not supported"));
  EXPECT_TRUE(Contains(error_after([](ox::ModelProto& m) { *m.mutable_graph()->add_output() = m.graph().output(0); }),
                       "2 outputs"));
  EXPECT_TRUE(Contains(error_after([](ox::ModelProto& m) { m.mutable_graph()->mutable_node()->DeleteSubrange(1, 1); }),
                       "is not computed by any supported node"));
  EXPECT_TRUE(Contains(error_after([](ox::ModelProto& m) {
                         auto& mp = node_named(m, "c1_Conv");
                         auto* a = mp.add_attribute();
                         a->set_name("dilations");
                         a->set_type(ox::AttributeProto::INTS);
                         a->add_ints(1);
                       }),
                       "only 2-D windows"));
}

// Every ONNX name is defined once: duplicate initializers (equal or different values), a
// Constant node or any node output reusing a defined name are refused, naming the name.
TEST(OnnxImportErrors, NamesDefinedTwiceAreRefused) {
  using test::Contains;
  for (float bias : {0.05f, 0.5f}) {  // a copy of c1.b's first value, or a different value
    EXPECT_TRUE(Contains(error_after([bias](ox::ModelProto& m) {
                           auto* t = m.mutable_graph()->add_initializer();
                           *t = m.graph().initializer(2);
                           t->set_float_data(0, bias);
                           ASSERT_EQ(t->name(), "c1.b");
                         }),
                         "two initializers are named 'c1.b'"));
  }
  EXPECT_TRUE(Contains(error_after([](ox::ModelProto& m) {
                         ox::NodeProto c;
                         c.set_op_type("Constant");
                         c.set_name("shadow");
                         c.add_output("c1.b");
                         auto* a = c.add_attribute();
                         a->set_name("value_float");
                         a->set_type(ox::AttributeProto::FLOAT);
                         a->set_f(1.0f);
                         auto* nodes = m.mutable_graph()->mutable_node();
                         nodes->Add(std::move(c));
                         std::rotate(nodes->begin(), nodes->end() - 1, nodes->end());
                       }),
                       "node 'shadow' (Constant): its output 'c1.b' is also defined by an initializer"));
  EXPECT_TRUE(Contains(error_after([](ox::ModelProto& m) { node_named(m, "r2_Relu").set_output(0, "r1"); }),
                       "node 'r2_Relu' (Relu): its output 'r1' is also defined by node 'r1_Clip' (Clip)"));
  EXPECT_TRUE(Contains(error_after([](ox::ModelProto& m) { node_named(m, "t0_Transpose").set_output(0, "input_1:0"); }),
                       "is also defined by the graph input"));
}

// An integer input is refused (importing it as float would change what it means).
TEST(OnnxImportErrors, IntegerInputsAreRefused) {
  for (auto [type, name] : {std::pair{ox::TensorProto::INT8, "int8"}, std::pair{ox::TensorProto::UINT8, "uint8"}}) {
    const std::string msg = error_after([type = type](ox::ModelProto& m) {
      m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(type);
    });
    EXPECT_TRUE(test::Contains(msg, "input 'input_1:0' is " + std::string(name) + " (ONNX element type"));
    EXPECT_TRUE(test::Contains(msg, "export the float model with a float32 input"));
  }
}

// A second graph input and a Dropout that says it trains are refused, naming what to change.
TEST(OnnxImportErrors, SecondInputAndTrainingDropoutAreRefused) {
  using test::Contains;
  const std::string two = error_after([](ox::ModelProto& m) {
    auto* extra = m.mutable_graph()->add_input();
    *extra = m.graph().input(0);
    extra->set_name("second");
  });
  EXPECT_TRUE(Contains(two, "the model has 2 inputs ('input_1:0', 'second')")) << two;
  EXPECT_TRUE(Contains(two, "one image input")) << two;
  for (bool constant : {true, false}) {
    const std::string drop = error_after([constant](ox::ModelProto& m) {
      auto& r = node_named(m, "r2_Relu");
      r.set_op_type("Dropout");
      r.add_input("");  // ratio: default
      r.add_input("training_mode");
      if (constant) {
        auto* t = m.mutable_graph()->add_initializer();
        t->set_name("training_mode");
        t->set_data_type(ox::TensorProto::BOOL);
        t->add_int32_data(1);
      } else {  // not a constant: it could be true
        auto* in = m.mutable_graph()->add_input();
        *in = m.graph().input(0);
        in->set_name("training_mode");
      }
    });
    if (constant) {
      EXPECT_TRUE(Contains(drop, "node 'r2_Relu' (Dropout)")) << drop;
    }
    EXPECT_TRUE(Contains(drop, constant ? "a Dropout in training mode" : "2 inputs")) << drop;
  }
}

// Finite weights too large for float32 arithmetic, and BatchNorm statistics whose folding
// overflows, are refused at import, naming the node (no NaN outputs later).
TEST(OnnxImportErrors, WeightsThatOverflowFloat32AreRefused) {
  using test::Contains;
  const std::string huge = error_after([](ox::ModelProto& m) {
    auto* w = m.mutable_graph()->mutable_initializer(1);
    ASSERT_EQ(w->name(), "c1.w");
    for (int k = 0; k < w->float_data_size(); ++k) w->set_float_data(k, 3e38f);
  });
  EXPECT_TRUE(Contains(huge, "bad.onnx: c1_Conv (conv2d): the float forward pass overflows float32 here"));
  EXPECT_TRUE(Contains(huge, "its largest |weight| is 3e+38"));
  const std::string bn = error_after([](ox::ModelProto& m) {
    auto& n = node_named(m, "b2_BatchNormalization");
    auto* eps = n.add_attribute();
    eps->set_name("epsilon");
    eps->set_type(ox::AttributeProto::FLOAT);
    eps->set_f(1e-30f);
    for (auto& t : *m.mutable_graph()->mutable_initializer()) {
      if (t.name() == "bn.v")
        for (int k = 0; k < t.float_data_size(); ++k) t.set_float_data(k, 0.0f);
      if (t.name() == "bn.g")
        for (int k = 0; k < t.float_data_size(); ++k) t.set_float_data(k, 1e30f);
    }
  });
  EXPECT_TRUE(Contains(bn, "b2_BatchNormalization (batchnorm): channel 0's scale gamma / sqrt(var + eps) = 1e+30 / sqrt(0 + 1e-30) overflows float32"));
}

// A node on constants only is evaluated at import, whatever reads it: the weight as
// Mul(half the weight, 2), Clip's bounds as Cast(Constant int64), the pads as
// Concat(Constant, Sub(Constant, Constant)). The import equals the plain model's. A kind it
// cannot evaluate names the node.
TEST(OnnxImportConstants, NodesOnConstantsAreFolded) {
  const std::string plain = Tf2OnnxLike(13).build(false);
  ImportedOnnx want = import_onnx(plain, "plain.onnx");
  ox::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(plain));
  auto* g = m.mutable_graph();
  auto constant = [&](const std::string& out, ox::TensorProto t) {
    ox::NodeProto c;
    c.set_op_type("Constant");
    c.set_name(out + "_Constant");
    c.add_output(out);
    auto* a = c.add_attribute();
    a->set_name("value");
    a->set_type(ox::AttributeProto::TENSOR);
    *a->mutable_t() = std::move(t);
    return c;
  };
  auto i64 = [](std::vector<int64_t> v, bool scalar = false) {
    ox::TensorProto t;
    t.set_data_type(ox::TensorProto::INT64);
    if (!scalar) t.add_dims(int64_t(v.size()));
    for (int64_t x : v) t.add_int64_data(x);
    return t;
  };
  auto op = [](const std::string& type, std::vector<std::string> in, const std::string& out) {
    ox::NodeProto n;
    n.set_op_type(type);
    n.set_name(out + "_" + type);
    for (auto& x : in) n.add_input(x);
    n.add_output(out);
    return n;
  };
  std::vector<ox::NodeProto> pre;
  // c1.w -> c1.w_half (an initializer) and Mul(c1.w_half, 2).
  for (auto& t : *g->mutable_initializer())
    if (t.name() == "c1.w") {
      t.set_name("c1.w_half");
      for (int k = 0; k < t.float_data_size(); ++k) t.set_float_data(k, t.float_data(k) / 2);
    }
  ox::TensorProto two;
  two.set_data_type(ox::TensorProto::FLOAT);
  two.add_float_data(2.0f);
  pre.push_back(constant("two", two));
  pre.push_back(op("Mul", {"c1.w_half", "two"}, "c1.w"));
  // pads [0, 0, 0, 1, 0, 0, 1, 1] = Concat([0, 0, 0, 1], [1, 1, 1, 1] - [1, 1, 0, 0]).
  pre.push_back(constant("pads_a", i64({0, 0, 0, 1})));
  pre.push_back(constant("ones", i64({1, 1, 1, 1})));
  pre.push_back(constant("pads_c", i64({1, 1, 0, 0})));
  pre.push_back(op("Sub", {"ones", "pads_c"}, "pads_b"));
  ox::NodeProto cat = op("Concat", {"pads_a", "pads_b"}, "pads_computed");
  auto* axis = cat.add_attribute();
  axis->set_name("axis");
  axis->set_type(ox::AttributeProto::INT);
  axis->set_i(0);
  pre.push_back(cat);
  // Clip bounds as PyTorch writes torch.clamp(x, 0, 6) without constant folding.
  pre.push_back(constant("lo_i", i64({0}, true)));
  pre.push_back(constant("hi_i", i64({6}, true)));
  for (const char* b : {"lo", "hi"}) {
    ox::NodeProto c = op("Cast", {std::string(b) + "_i"}, std::string(b) + "_f");
    auto* to = c.add_attribute();
    to->set_name("to");
    to->set_type(ox::AttributeProto::INT);
    to->set_i(ox::TensorProto::FLOAT);
    pre.push_back(c);
  }
  for (auto& n : *g->mutable_node()) {
    if (n.op_type() == "Pad") n.set_input(1, "pads_computed");
    if (n.op_type() == "Clip") n.set_input(1, "lo_f"), n.set_input(2, "hi_f");
  }
  ox::GraphProto rebuilt = *g;
  rebuilt.clear_node();
  for (auto& n : pre) *rebuilt.add_node() = n;
  for (const auto& n : g->node()) *rebuilt.add_node() = n;
  *g = rebuilt;
  std::string bytes;
  m.SerializeToString(&bytes);
  ImportedOnnx got = import_onnx(bytes, "folded.onnx");
  ASSERT_EQ(got.graph.nodes.size(), want.graph.nodes.size());
  for (size_t k = 0; k < want.graph.nodes.size(); ++k) {
    const Node &a = got.graph.nodes[k], &b = want.graph.nodes[k];
    EXPECT_EQ(a.kind, b.kind) << k;
    EXPECT_EQ(a.out, b.out) << k;
    EXPECT_EQ(a.pad_top + 10 * a.pad_left + 100 * a.pad_bottom + 1000 * a.pad_right,
              b.pad_top + 10 * b.pad_left + 100 * b.pad_bottom + 1000 * b.pad_right) << k;
  }
  ASSERT_EQ(got.weights.size(), want.weights.size());
  for (const auto& [name, t] : want.weights) EXPECT_EQ(got.weights.at(name).data, t.data) << name;
  // A node on constants of a kind mcuprune cannot evaluate: named, with what it can.
  const std::string msg = error_after([](ox::ModelProto& mm) {
    auto* n = mm.mutable_graph()->add_node();
    n->set_op_type("Sin");
    n->set_name("weird");
    n->add_input("c1.b");
    n->add_output("sin_out");
    auto* nodes = mm.mutable_graph()->mutable_node();
    std::rotate(nodes->begin(), nodes->end() - 1, nodes->end());
  });
  EXPECT_TRUE(test::Contains(msg, "node 'weird' (Sin): computes from constants only: mcuprune cannot evaluate Sin"));
}

}  // namespace
}  // namespace mcuprune
