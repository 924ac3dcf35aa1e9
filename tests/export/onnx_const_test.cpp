// ONNX nodes evaluated on constants at import (export/onnx_const.h): each op against values
// worked out by hand from the ONNX operator spec, and the errors.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "common/expect_error.h"
#include "export/onnx_const.h"

namespace mcuprune {
namespace {

namespace ox = ONNX_NAMESPACE;
using onnx_const::Const;
using I = std::vector<int64_t>;
using F = std::vector<float>;

Const ints(I dims, I v) {
  Const c;
  c.dims = std::move(dims);
  c.i = std::move(v);
  return c;
}
Const floats(I dims, F v) {
  Const c;
  c.dims = std::move(dims);
  c.f = std::move(v);
  c.is_float = true;
  return c;
}

struct NodeSpec {
  ox::NodeProto n;
  explicit NodeSpec(const std::string& op) {
    n.set_op_type(op);
    n.set_name("n_" + op);
    n.add_output("y");
  }
  NodeSpec& i(const std::string& name, int64_t v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(ox::AttributeProto::INT);
    a->set_i(v);
    return *this;
  }
  NodeSpec& is(const std::string& name, const I& v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(ox::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
    return *this;
  }
};

Const eval(const NodeSpec& s, const std::vector<const Const*>& in) { return onnx_const::evaluate(s.n, in); }

std::string error_of(const NodeSpec& s, const std::vector<const Const*>& in) {
  try {
    eval(s, in);
  } catch (const onnx_const::ConstError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ConstError";
  return "";
}

TEST(OnnxConst, SliceGatherTransposeConcatFollowTheSpec) {
  const Const x10 = ints({10}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  // Negative step from the end: start -1 -> 9, end -100 clamps to -1: 9 7 5 3 1.
  const Const s1 = ints({1}, {-1}), e1 = ints({1}, {-100}), ax0 = ints({1}, {0}), st = ints({1}, {-2});
  Const r = eval(NodeSpec("Slice"), {&x10, &s1, &e1, &ax0, &st});
  EXPECT_EQ(r.i, (I{9, 7, 5, 3, 1}));
  EXPECT_EQ(r.dims, (I{5}));
  // A 3x4 matrix 0..11, columns [1, 3) on axis 1 (an end beyond the size clamps).
  const Const m = ints({3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  const Const b = ints({1}, {1}), e = ints({1}, {3}), ax1 = ints({1}, {1});
  r = eval(NodeSpec("Slice"), {&m, &b, &e, &ax1, nullptr});
  EXPECT_EQ(r.dims, (I{3, 2}));
  EXPECT_EQ(r.i, (I{1, 2, 5, 6, 9, 10}));
  // Gather on axis 1 with a negative index: [[0,1,2],[3,4,5]] -> [[2,0],[5,3]].
  const Const g = ints({2, 3}, {0, 1, 2, 3, 4, 5}), idx = ints({2}, {-1, 0});
  r = eval(NodeSpec("Gather").i("axis", 1), {&g, &idx});
  EXPECT_EQ(r.dims, (I{2, 2}));
  EXPECT_EQ(r.i, (I{2, 0, 5, 3}));
  // Transpose without perm reverses the axes.
  r = eval(NodeSpec("Transpose"), {&g});
  EXPECT_EQ(r.dims, (I{3, 2}));
  EXPECT_EQ(r.i, (I{0, 3, 1, 4, 2, 5}));
  // Concat on the last axis of 2x1 and 2x2.
  const Const c1 = ints({2, 1}, {7, 8}), c2 = ints({2, 2}, {1, 2, 3, 4});
  r = eval(NodeSpec("Concat").i("axis", -1), {&c1, &c2});
  EXPECT_EQ(r.dims, (I{2, 3}));
  EXPECT_EQ(r.i, (I{7, 1, 2, 8, 3, 4}));
}

TEST(OnnxConst, ArithmeticBroadcastsAndCastTruncates) {
  // [[1],[2]] - [10, 20, 30] -> 2x3.
  const Const a = ints({2, 1}, {1, 2}), b = ints({3}, {10, 20, 30});
  Const r = eval(NodeSpec("Sub"), {&a, &b});
  EXPECT_EQ(r.dims, (I{2, 3}));
  EXPECT_EQ(r.i, (I{-9, -19, -29, -8, -18, -28}));
  EXPECT_FALSE(r.is_float);
  // Integer division truncates toward zero; a float operand makes the result float.
  const Const m7 = ints({1}, {-7}), two = ints({}, {2});
  EXPECT_EQ(eval(NodeSpec("Div"), {&m7, &two}).i, (I{-3}));
  const Const half = floats({}, {0.5f});
  r = eval(NodeSpec("Mul"), {&m7, &half});
  EXPECT_TRUE(r.is_float);
  EXPECT_EQ(r.f, (F{-3.5f}));
  const Const v = floats({2}, {-1.7f, 2.9f});
  r = eval(NodeSpec("Cast").i("to", ox::TensorProto::INT64), {&v});
  EXPECT_EQ(r.i, (I{-1, 2}));
  r = eval(NodeSpec("Cast").i("to", ox::TensorProto::FLOAT), {&m7});
  EXPECT_EQ(r.f, (F{-7.0f}));
  const Const big = ints({1}, {300});
  EXPECT_TRUE(test::Contains(error_of(NodeSpec("Cast").i("to", ox::TensorProto::INT8), {&big}), "out of the target type's range"));
  const Const zero = floats({}, {0.0f}), one = floats({}, {1.0f});
  EXPECT_TRUE(test::Contains(error_of(NodeSpec("Div"), {&one, &zero}), "NaN or infinite"));
  const Const izero = ints({}, {0});
  EXPECT_TRUE(test::Contains(error_of(NodeSpec("Div"), {&m7, &izero}), "division by zero"));
  // Clip with the bounds as inputs; Max of three.
  const Const x = floats({3}, {-2.0f, 3.0f, 9.0f}), six = floats({}, {6.0f});
  EXPECT_EQ(eval(NodeSpec("Clip"), {&x, &zero, &six}).f, (F{0.0f, 3.0f, 6.0f}));
  EXPECT_EQ(eval(NodeSpec("Max"), {&x, &zero, &one}).f, (F{1.0f, 3.0f, 9.0f}));
}

TEST(OnnxConst, ShapesReshapesAndGenerators) {
  const Const x = floats({2, 3, 4}, F(24, 1.0f));
  EXPECT_EQ(eval(NodeSpec("Shape"), {&x}).i, (I{2, 3, 4}));
  EXPECT_EQ(eval(NodeSpec("Shape").i("start", 1), {&x}).i, (I{3, 4}));
  EXPECT_EQ(eval(NodeSpec("Shape").i("end", -1), {&x}).i, (I{2, 3}));
  EXPECT_EQ(eval(NodeSpec("Size"), {&x}).i, (I{24}));
  const Const keep = ints({2}, {0, -1});  // 0 copies the input's dimension, -1 takes the rest
  EXPECT_EQ(eval(NodeSpec("Reshape"), {&x, &keep}).dims, (I{2, 12}));
  EXPECT_EQ(eval(NodeSpec("Flatten").i("axis", 2), {&x}).dims, (I{6, 4}));
  const Const bad_shape = ints({1}, {5});
  EXPECT_TRUE(test::Contains(error_of(NodeSpec("Reshape"), {&x, &bad_shape}), "to another count"));
  const Const s = ints({1, 3, 1}, {1, 2, 3}), last = ints({1}, {-1});
  EXPECT_EQ(eval(NodeSpec("Squeeze"), {&s, &last}).dims, (I{1, 3}));
  EXPECT_EQ(eval(NodeSpec("Squeeze"), {&s}).dims, (I{3}));  // no axes: every axis of size 1
  EXPECT_EQ(eval(NodeSpec("Squeeze").is("axes", {0}), {&s}).dims, (I{3, 1}));  // opset < 13: an attribute
  const Const v3 = ints({3}, {1, 2, 3}), ax = ints({2}, {0, 2});
  EXPECT_EQ(eval(NodeSpec("Unsqueeze"), {&v3, &ax}).dims, (I{1, 3, 1}));
  // ConstantOfShape with an int64 value 7; Range(1, 10, 3).
  NodeSpec cos("ConstantOfShape");
  auto* a = cos.n.add_attribute();
  a->set_name("value");
  a->set_type(ox::AttributeProto::TENSOR);
  a->mutable_t()->set_data_type(ox::TensorProto::INT64);
  a->mutable_t()->add_dims(1);
  a->mutable_t()->add_int64_data(7);
  const Const shape = ints({2}, {2, 2});
  Const r = eval(cos, {&shape});
  EXPECT_EQ(r.dims, (I{2, 2}));
  EXPECT_EQ(r.i, (I{7, 7, 7, 7}));
  const Const start = ints({}, {1}), limit = ints({}, {10}), delta = ints({}, {3});
  EXPECT_EQ(eval(NodeSpec("Range"), {&start, &limit, &delta}).i, (I{1, 4, 7}));
  // Far too many values is refused, not allocated.
  const Const huge = ints({3}, {4096, 4096, 4096});
  EXPECT_TRUE(test::Contains(error_of(NodeSpec("ConstantOfShape"), {&huge}), "more than 16777216 values"));
  // An op it does not know says which it knows.
  EXPECT_TRUE(test::Contains(error_of(NodeSpec("Sin"), {&x}), "cannot evaluate Sin at import (it evaluates Identity"));
}

}  // namespace
}  // namespace mcuprune
