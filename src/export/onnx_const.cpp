// Evaluation of ONNX nodes on constants (see onnx_const.h).
#include "export/onnx_const.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

namespace mcuprune::onnx_const {

namespace ox = ONNX_NAMESPACE;

int64_t Const::numel() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

namespace {

[[noreturn]] void bad(const std::string& msg) { throw ConstError(msg); }

int64_t checked_numel(const std::vector<int64_t>& dims, const std::string& what) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) bad(what + " has a negative dimension " + std::to_string(d));
    if (d > 0 && n > kMaxComputedValues / d)
      bad(what + " would hold more than " + std::to_string(kMaxComputedValues) + " values");
    n *= d;
  }
  return n;
}

template <class T>
std::vector<T> raw_values(const std::string& raw, int64_t n, const std::string& what) {
  if (int64_t(raw.size()) != n * int64_t(sizeof(T)))
    bad(what + ": raw data of " + std::to_string(raw.size()) + " bytes for " + std::to_string(n) + " values of " +
        std::to_string(sizeof(T)) + " bytes");
  std::vector<T> v(static_cast<size_t>(n));
  if (n) std::memcpy(v.data(), raw.data(), raw.size());
  return v;
}

template <class Field>
void check_count(const Field& field, int64_t n, const std::string& what) {
  if (int64_t(field.size()) != n) bad(what + ": " + std::to_string(field.size()) + " values for " + std::to_string(n));
}

const ox::AttributeProto* attr(const ox::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

int64_t int_attr(const ox::NodeProto& n, const std::string& name, int64_t def) {
  const auto* a = attr(n, name);
  return a ? a->i() : def;
}

// All values as doubles (exact for the integers that appear in shapes and pads).
std::vector<double> as_doubles(const Const& c) {
  std::vector<double> r;
  r.reserve(size_t(c.numel()));
  if (c.is_float)
    for (float x : c.f) r.push_back(double(x));
  else
    for (int64_t x : c.i) r.push_back(double(x));
  return r;
}

// `what` is a C string, not a std::string: GCC 13 takes a reference returned from a call
// with a temporary argument for a dangling one (-Wdangling-reference).
const std::vector<int64_t>& ints_of(const Const* c, const char* what) {
  if (!c) bad(std::string("missing ") + what);
  if (c->is_float) bad(std::string(what) + " must be integers");
  return c->i;
}

// A copy of c with values picked by index: out.values[k] = c.values[src[k]].
Const gather_values(const Const& c, std::vector<int64_t> dims, const std::vector<int64_t>& src) {
  Const r;
  r.dims = std::move(dims);
  r.is_float = c.is_float;
  for (int64_t k : src) {
    if (c.is_float) r.f.push_back(c.f[size_t(k)]);
    else r.i.push_back(c.i[size_t(k)]);
  }
  return r;
}

std::vector<int64_t> strides_of(const std::vector<int64_t>& dims) {
  std::vector<int64_t> s(dims.size(), 1);
  for (int k = int(dims.size()) - 2; k >= 0; --k) s[size_t(k)] = s[size_t(k) + 1] * dims[size_t(k) + 1];
  return s;
}

// Calls f(flat index in `dims`, multi-index) for every element, in row-major order.
void for_each_index(const std::vector<int64_t>& dims, const std::function<void(int64_t, const std::vector<int64_t>&)>& f) {
  const int64_t n = checked_numel(dims, "a result");
  std::vector<int64_t> idx(dims.size(), 0);
  for (int64_t flat = 0; flat < n; ++flat) {
    f(flat, idx);
    for (int k = int(dims.size()) - 1; k >= 0; --k) {
      if (++idx[size_t(k)] < dims[size_t(k)]) break;
      idx[size_t(k)] = 0;
    }
  }
}

int64_t normalized_axis(int64_t axis, int64_t rank, const std::string& what) {
  if (axis < -rank || axis >= rank)
    bad(what + " " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

// numpy-style broadcasting of several shapes.
std::vector<int64_t> broadcast_dims(const std::vector<const Const*>& in) {
  size_t rank = 0;
  for (const Const* c : in) rank = std::max(rank, c->dims.size());
  std::vector<int64_t> out(rank, 1);
  for (const Const* c : in)
    for (size_t k = 0; k < c->dims.size(); ++k) {
      int64_t& o = out[rank - c->dims.size() + k];
      const int64_t d = c->dims[k];
      if (d == o || d == 1) continue;
      if (o != 1) bad("shapes that do not broadcast");
      o = d;
    }
  return out;
}

// Flat index into c of the element at multi-index `idx` of the broadcast result.
int64_t broadcast_source(const Const& c, const std::vector<int64_t>& idx) {
  int64_t flat = 0, stride = 1;
  for (int k = int(c.dims.size()) - 1; k >= 0; --k) {
    const int64_t d = c.dims[size_t(k)];
    const int64_t i = d == 1 ? 0 : idx[idx.size() - c.dims.size() + size_t(k)];
    flat += i * stride;
    stride *= d;
  }
  return flat;
}

// Element-wise op over broadcast inputs: float arithmetic when any input is float.
Const elementwise(const std::string& op, const std::vector<const Const*>& in) {
  for (const Const* c : in)
    if (!c) bad("an omitted input");
  bool any_float = false;
  for (const Const* c : in) any_float = any_float || c->is_float;
  Const r;
  r.dims = broadcast_dims(in);
  r.is_float = any_float;
  std::vector<std::vector<double>> vals;
  for (const Const* c : in) vals.push_back(as_doubles(*c));
  for_each_index(r.dims, [&](int64_t, const std::vector<int64_t>& idx) {
    std::vector<double> x;
    for (size_t k = 0; k < in.size(); ++k) x.push_back(vals[k][size_t(broadcast_source(*in[k], idx))]);
    double y = x[0];
    if (op == "Add") y = x[0] + x[1];
    else if (op == "Sub") y = x[0] - x[1];
    else if (op == "Mul") y = x[0] * x[1];
    else if (op == "Div") {
      if (!any_float) {  // integer division truncates (onnxruntime, C)
        if (x[1] == 0) bad("an integer division by zero");
        y = std::trunc(x[0] / x[1]);
      } else {
        y = x[0] / x[1];
      }
    } else if (op == "Pow") y = std::pow(x[0], x[1]);
    else if (op == "Min") for (double v : x) y = std::min(y, v);
    else if (op == "Max") for (double v : x) y = std::max(y, v);
    else if (op == "Neg") y = -x[0];
    else if (op == "Abs") y = std::fabs(x[0]);
    else if (op == "Sqrt") y = std::sqrt(x[0]);
    else if (op == "Reciprocal") y = 1.0 / x[0];
    else if (op == "Relu") y = std::max(0.0, x[0]);
    else if (op == "Floor") y = std::floor(x[0]);
    else if (op == "Ceil") y = std::ceil(x[0]);
    if (any_float) {
      const float fy = float(y);
      if (!std::isfinite(fy)) bad("a NaN or infinite value");
      r.f.push_back(fy);
    } else {
      if (!(y >= -9.2e18 && y <= 9.2e18)) bad("an integer out of range");
      r.i.push_back(int64_t(y));
    }
  });
  return r;
}

Const cast(const Const& x, int64_t to) {
  Const r;
  r.dims = x.dims;
  if (to == ox::TensorProto::FLOAT || to == ox::TensorProto::DOUBLE) {
    r.is_float = true;
    for (double v : as_doubles(x)) {
      const float fv = float(v);
      if (!std::isfinite(fv)) bad("a NaN or infinite value");
      r.f.push_back(fv);
    }
    return r;
  }
  double lo = 0, hi = 0;
  switch (to) {
    case ox::TensorProto::INT64: lo = -9.2e18, hi = 9.2e18; break;
    case ox::TensorProto::INT32: lo = -2147483648.0, hi = 2147483647.0; break;
    case ox::TensorProto::INT16: lo = -32768, hi = 32767; break;
    case ox::TensorProto::INT8: lo = -128, hi = 127; break;
    case ox::TensorProto::UINT8: lo = 0, hi = 255; break;
    case ox::TensorProto::UINT16: lo = 0, hi = 65535; break;
    case ox::TensorProto::UINT32: lo = 0, hi = 4294967295.0; break;
    case ox::TensorProto::BOOL: lo = -INFINITY, hi = INFINITY; break;
    default: bad("a cast to element type " + std::to_string(to) + " (float, double and integer types are supported)");
  }
  for (double v : as_doubles(x)) {
    if (std::isnan(v)) bad("a cast of NaN to an integer");
    if (to == ox::TensorProto::BOOL) {
      r.i.push_back(v != 0);
      continue;
    }
    const double t = std::trunc(v);  // float -> integer drops the fraction
    if (t < lo || t > hi) bad("a cast of " + std::to_string(v) + " out of the target type's range");
    r.i.push_back(int64_t(t));
  }
  return r;
}

Const reshape(const Const& x, const std::vector<int64_t>& shape, bool allow_zero) {
  std::vector<int64_t> dims = shape;
  int infer = -1;
  int64_t known = 1;
  for (size_t k = 0; k < dims.size(); ++k) {
    if (dims[k] == 0 && !allow_zero) {
      if (k >= x.dims.size()) bad("a reshape copying a dimension the input does not have");
      dims[k] = x.dims[k];
    }
    if (dims[k] == -1) {
      if (infer >= 0) bad("a reshape with two -1 dimensions");
      infer = int(k);
      continue;
    }
    if (dims[k] < 0) bad("a reshape to a negative dimension");
    known *= dims[k];
  }
  if (infer >= 0) {
    if (known == 0 || x.numel() % known != 0) bad("a reshape whose -1 dimension cannot be inferred");
    dims[size_t(infer)] = x.numel() / known;
  }
  if (checked_numel(dims, "a reshape") != x.numel())
    bad("a reshape of " + std::to_string(x.numel()) + " values to another count");
  Const r = x;
  r.dims = dims;
  return r;
}

Const transpose(const Const& x, std::vector<int64_t> perm) {
  const int64_t rank = int64_t(x.dims.size());
  if (perm.empty())
    for (int64_t k = rank - 1; k >= 0; --k) perm.push_back(k);
  if (int64_t(perm.size()) != rank) bad("a transpose whose perm does not match the rank");
  std::vector<bool> seen(size_t(rank), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= rank || seen[size_t(p)]) bad("a transpose whose perm is not a permutation");
    seen[size_t(p)] = true;
  }
  std::vector<int64_t> dims;
  for (int64_t p : perm) dims.push_back(x.dims[size_t(p)]);
  const std::vector<int64_t> in_strides = strides_of(x.dims);
  std::vector<int64_t> src;
  for_each_index(dims, [&](int64_t, const std::vector<int64_t>& idx) {
    int64_t s = 0;
    for (size_t k = 0; k < perm.size(); ++k) s += idx[k] * in_strides[size_t(perm[k])];
    src.push_back(s);
  });
  return gather_values(x, dims, src);
}

Const concat(const std::vector<const Const*>& in, int64_t axis_attr) {
  if (in.empty()) bad("a concatenation of nothing");
  for (const Const* c : in)
    if (!c) bad("an omitted input");
  const int64_t rank = int64_t(in[0]->dims.size());
  const int64_t axis = normalized_axis(axis_attr, rank, "axis");
  bool any_float = false;
  std::vector<int64_t> dims = in[0]->dims;
  dims[size_t(axis)] = 0;
  for (const Const* c : in) {
    if (int64_t(c->dims.size()) != rank) bad("a concatenation of values of different ranks");
    for (int64_t k = 0; k < rank; ++k)
      if (k != axis && c->dims[size_t(k)] != in[0]->dims[size_t(k)]) bad("a concatenation of mismatched shapes");
    dims[size_t(axis)] += c->dims[size_t(axis)];
    any_float = any_float || c->is_float;
  }
  Const r;
  r.dims = dims;
  r.is_float = any_float;
  const int64_t outer = checked_numel(std::vector<int64_t>(dims.begin(), dims.begin() + axis), "a concatenation");
  for (int64_t o = 0; o < outer; ++o)
    for (const Const* c : in) {
      const std::vector<double> v = as_doubles(*c);
      const int64_t block = c->numel() / std::max<int64_t>(outer, 1);
      for (int64_t e = 0; e < block; ++e) {
        const double x = v[size_t(o * block + e)];
        if (any_float) r.f.push_back(float(x));
        else r.i.push_back(int64_t(x));
      }
    }
  return r;
}

Const slice(const Const& x, const std::vector<const Const*>& in) {
  const int64_t rank = int64_t(x.dims.size());
  const std::vector<int64_t>& starts = ints_of(in.size() > 1 ? in[1] : nullptr, "starts");
  const std::vector<int64_t>& ends = ints_of(in.size() > 2 ? in[2] : nullptr, "ends");
  if (starts.size() != ends.size()) bad("a slice whose starts and ends differ in length");
  std::vector<int64_t> axes, steps(starts.size(), 1);
  if (in.size() > 3 && in[3]) axes = ints_of(in[3], "axes");
  else for (size_t k = 0; k < starts.size(); ++k) axes.push_back(int64_t(k));
  if (in.size() > 4 && in[4]) steps = ints_of(in[4], "steps");
  if (axes.size() != starts.size() || steps.size() != starts.size()) bad("a slice whose axes or steps differ in length");
  std::vector<int64_t> begin(size_t(rank), 0), step(size_t(rank), 1), count = x.dims;
  for (size_t k = 0; k < starts.size(); ++k) {
    const int64_t a = normalized_axis(axes[k], rank, "slice axis");
    const int64_t d = x.dims[size_t(a)], s = steps[k];
    if (s == 0) bad("a slice step of 0");
    int64_t b = starts[k], e = ends[k];
    if (b < 0) b += d;
    if (e < 0) e += d;
    // Clamping as the spec says: [0, d] for a positive step, [-1, d-1] for a negative one.
    if (s > 0) b = std::clamp<int64_t>(b, 0, d), e = std::clamp<int64_t>(e, 0, d);
    else b = std::clamp<int64_t>(b, 0, d - 1), e = std::clamp<int64_t>(e, -1, d - 1);
    begin[size_t(a)] = b;
    step[size_t(a)] = s;
    count[size_t(a)] = s > 0 ? std::max<int64_t>(0, (e - b + s - 1) / s) : std::max<int64_t>(0, (b - e - s - 1) / -s);
  }
  const std::vector<int64_t> in_strides = strides_of(x.dims);
  std::vector<int64_t> src;
  for_each_index(count, [&](int64_t, const std::vector<int64_t>& idx) {
    int64_t s = 0;
    for (int64_t k = 0; k < rank; ++k) s += (begin[size_t(k)] + idx[size_t(k)] * step[size_t(k)]) * in_strides[size_t(k)];
    src.push_back(s);
  });
  return gather_values(x, count, src);
}

Const gather(const Const& x, const Const& indices, int64_t axis_attr) {
  const int64_t rank = int64_t(x.dims.size());
  if (rank == 0) bad("a gather from a scalar");
  const int64_t axis = normalized_axis(axis_attr, rank, "axis");
  const std::vector<int64_t>& ix = ints_of(&indices, "indices");
  const int64_t d = x.dims[size_t(axis)];
  std::vector<int64_t> dims(x.dims.begin(), x.dims.begin() + axis);
  dims.insert(dims.end(), indices.dims.begin(), indices.dims.end());
  dims.insert(dims.end(), x.dims.begin() + axis + 1, x.dims.end());
  const int64_t outer = checked_numel(std::vector<int64_t>(x.dims.begin(), x.dims.begin() + axis), "a gather");
  const int64_t inner = checked_numel(std::vector<int64_t>(x.dims.begin() + axis + 1, x.dims.end()), "a gather");
  checked_numel(dims, "a gather");
  std::vector<int64_t> src;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j : ix) {
      if (j < -d || j >= d) bad("a gather index " + std::to_string(j) + " out of range for " + std::to_string(d));
      const int64_t jj = j < 0 ? j + d : j;
      for (int64_t e = 0; e < inner; ++e) src.push_back((o * d + jj) * inner + e);
    }
  return gather_values(x, dims, src);
}

}  // namespace

Const read_tensor(const ox::TensorProto& t, const std::string& what) {
  if (t.data_location() == ox::TensorProto::EXTERNAL)
    bad(what + " is stored in an external data file, which mcuprune does not read; re-export with the "
               "weights inside the model (torch.onnx.export does so below 2 GB)");
  Const c;
  for (int64_t d : t.dims()) {
    if (d < 0 || d > (int64_t(1) << 31)) bad(what + " has an invalid dimension " + std::to_string(d));
    c.dims.push_back(d);
  }
  int64_t n = 1;
  for (int64_t d : c.dims) {
    if (d > 0 && n > (int64_t(1) << 31) / d) bad(what + " is too large");
    n *= d;
  }
  const std::string& raw = t.raw_data();
  switch (t.data_type()) {
    case ox::TensorProto::FLOAT:
      c.is_float = true;
      if (!raw.empty()) c.f = raw_values<float>(raw, n, what);
      else check_count(t.float_data(), n, what), c.f.assign(t.float_data().begin(), t.float_data().end());
      break;
    case ox::TensorProto::DOUBLE: {
      c.is_float = true;
      std::vector<double> v;
      if (!raw.empty()) v = raw_values<double>(raw, n, what);
      else check_count(t.double_data(), n, what), v.assign(t.double_data().begin(), t.double_data().end());
      for (double x : v) c.f.push_back(float(x));
      break;
    }
    case ox::TensorProto::INT64:
      if (!raw.empty()) c.i = raw_values<int64_t>(raw, n, what);
      else check_count(t.int64_data(), n, what), c.i.assign(t.int64_data().begin(), t.int64_data().end());
      break;
    case ox::TensorProto::INT32:
      if (!raw.empty()) {
        auto v = raw_values<int32_t>(raw, n, what);
        c.i.assign(v.begin(), v.end());
      } else {
        check_count(t.int32_data(), n, what), c.i.assign(t.int32_data().begin(), t.int32_data().end());
      }
      break;
    case ox::TensorProto::INT8:
    case ox::TensorProto::UINT8:
    case ox::TensorProto::BOOL: {
      // Raw: one byte each. Typed: int32_data holds them.
      const bool is_signed = t.data_type() == ox::TensorProto::INT8;
      if (!raw.empty()) {
        auto v = raw_values<uint8_t>(raw, n, what);
        for (uint8_t b : v) c.i.push_back(is_signed ? int64_t(int8_t(b)) : int64_t(b));
      } else {
        check_count(t.int32_data(), n, what), c.i.assign(t.int32_data().begin(), t.int32_data().end());
      }
      break;
    }
    default:
      bad(what + " has element type " + std::to_string(t.data_type()) +
          "; float32 weights (and integer or double constants) are supported");
  }
  for (float x : c.f)
    if (!std::isfinite(x)) bad(what + " holds a NaN or infinite value");
  return c;
}

const char* evaluable_ops() {
  return "Identity, Dropout, Cast, Shape, Size, Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Concat, Slice, "
         "Gather, ConstantOfShape, Range, Add, Sub, Mul, Div, Pow, Min, Max, Neg, Abs, Sqrt, Reciprocal, Relu, "
         "Floor, Ceil, Clip";
}

Const evaluate(const ox::NodeProto& n, const std::vector<const Const*>& in) {
  const std::string& op = n.op_type();
  auto input = [&](size_t k, const char* what) -> const Const& {
    if (k >= in.size() || !in[k]) bad(std::string("missing ") + what);
    return *in[k];
  };
  auto axes_of = [&](size_t k) -> std::vector<int64_t> {  // an attribute before opset 13, an input after
    if (in.size() > k && in[k]) return ints_of(in[k], "axes");
    const auto* a = attr(n, "axes");
    return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : std::vector<int64_t>{};
  };
  if (op == "Identity" || op == "Dropout") return input(0, "input");
  if (op == "Cast") {
    if (!attr(n, "to")) bad("a Cast without 'to'");
    return cast(input(0, "input"), int_attr(n, "to", 0));
  }
  if (op == "Shape" || op == "Size") {
    const Const& x = input(0, "input");
    Const r;
    if (op == "Size") {
      r.i = {x.numel()};
      return r;
    }
    const int64_t rank = int64_t(x.dims.size());
    int64_t b = int_attr(n, "start", 0), e = int_attr(n, "end", rank);
    if (b < 0) b += rank;
    if (e < 0) e += rank;
    b = std::clamp<int64_t>(b, 0, rank), e = std::clamp<int64_t>(e, 0, rank);
    for (int64_t k = b; k < e; ++k) r.i.push_back(x.dims[size_t(k)]);
    r.dims = {int64_t(r.i.size())};
    return r;
  }
  if (op == "Reshape")
    return reshape(input(0, "input"), ints_of(in.size() > 1 ? in[1] : nullptr, "shape"), int_attr(n, "allowzero", 0) != 0);
  if (op == "Flatten") {
    const Const& x = input(0, "input");
    const int64_t rank = int64_t(x.dims.size());
    int64_t axis = int_attr(n, "axis", 1);
    if (axis < -rank || axis > rank) bad("axis " + std::to_string(axis) + " is out of range");
    if (axis < 0) axis += rank;
    int64_t outer = 1;
    for (int64_t k = 0; k < axis; ++k) outer *= x.dims[size_t(k)];
    return reshape(x, {outer, outer ? x.numel() / outer : 0}, true);
  }
  if (op == "Squeeze" || op == "Unsqueeze") {
    const Const& x = input(0, "input");
    std::vector<int64_t> axes = axes_of(1);
    std::vector<int64_t> dims;
    if (op == "Squeeze") {
      const int64_t rank = int64_t(x.dims.size());
      std::vector<bool> drop(size_t(rank), false);
      for (int64_t a : axes) {
        const int64_t k = normalized_axis(a, rank, "axis");
        if (x.dims[size_t(k)] != 1) bad("a squeeze of axis " + std::to_string(a) + ", whose size is not 1");
        drop[size_t(k)] = true;
      }
      for (int64_t k = 0; k < rank; ++k)
        if (!(axes.empty() ? x.dims[size_t(k)] == 1 : drop[size_t(k)])) dims.push_back(x.dims[size_t(k)]);
    } else {
      if (axes.empty()) bad("an unsqueeze without axes");
      const int64_t rank = int64_t(x.dims.size() + axes.size());
      std::vector<bool> one(size_t(rank), false);
      for (int64_t a : axes) {
        const int64_t k = normalized_axis(a, rank, "axis");
        if (one[size_t(k)]) bad("an unsqueeze naming an axis twice");
        one[size_t(k)] = true;
      }
      size_t next = 0;
      for (int64_t k = 0; k < rank; ++k) dims.push_back(one[size_t(k)] ? 1 : x.dims[next++]);
    }
    Const r = x;
    r.dims = dims;
    return r;
  }
  if (op == "Transpose") {
    const auto* p = attr(n, "perm");
    return transpose(input(0, "input"), p ? std::vector<int64_t>(p->ints().begin(), p->ints().end()) : std::vector<int64_t>{});
  }
  if (op == "Concat") {
    if (!attr(n, "axis")) bad("a Concat without 'axis'");
    return concat(in, int_attr(n, "axis", 0));
  }
  if (op == "Slice") return slice(input(0, "input"), in);
  if (op == "Gather") return gather(input(0, "input"), input(1, "indices"), int_attr(n, "axis", 0));
  if (op == "ConstantOfShape") {
    const std::vector<int64_t>& shape = ints_of(in.empty() ? nullptr : in[0], "shape");
    Const fill;
    fill.is_float = true;
    fill.f = {0.0f};
    if (const auto* a = attr(n, "value"); a && a->has_t()) fill = read_tensor(a->t(), "value");
    if (fill.numel() != 1) bad("a ConstantOfShape whose value is not one number");
    Const r;
    r.dims = shape;
    r.is_float = fill.is_float;
    const int64_t count = checked_numel(shape, "a ConstantOfShape");
    if (fill.is_float) r.f.assign(size_t(count), fill.f[0]);
    else r.i.assign(size_t(count), fill.i[0]);
    return r;
  }
  if (op == "Range") {
    const Const &start = input(0, "start"), &limit = input(1, "limit"), &delta = input(2, "delta");
    if (start.numel() != 1 || limit.numel() != 1 || delta.numel() != 1) bad("a Range of non-scalars");
    const double s = as_doubles(start)[0], l = as_doubles(limit)[0], d = as_doubles(delta)[0];
    if (d == 0) bad("a Range with delta 0");
    const double count = std::max(std::ceil((l - s) / d), 0.0);
    if (count > double(kMaxComputedValues)) bad("a Range of too many values");
    Const r;
    r.is_float = start.is_float || limit.is_float || delta.is_float;
    r.dims = {int64_t(count)};
    for (int64_t k = 0; k < int64_t(count); ++k) {
      if (r.is_float) r.f.push_back(float(s + double(k) * d));
      else r.i.push_back(int64_t(s + double(k) * d));
    }
    return r;
  }
  if (op == "Clip") {
    const Const& x = input(0, "input");
    Const r = x;
    auto bound = [&](size_t k, double none) {
      if (in.size() <= k || !in[k]) return none;
      if (in[k]->numel() != 1) bad("a Clip bound that is not one number");
      return as_doubles(*in[k])[0];
    };
    const double lo = bound(1, -INFINITY), hi = bound(2, INFINITY);
    std::vector<double> v = as_doubles(x);
    for (size_t e = 0; e < v.size(); ++e) {
      v[e] = std::min(std::max(v[e], lo), hi);
      if (r.is_float) r.f[e] = float(v[e]);
      else r.i[e] = int64_t(v[e]);
    }
    return r;
  }
  static const char* binary[] = {"Add", "Sub", "Mul", "Div", "Pow"};
  static const char* unary[] = {"Neg", "Abs", "Sqrt", "Reciprocal", "Relu", "Floor", "Ceil"};
  for (const char* b : binary)
    if (op == b) {
      if (in.size() != 2) bad("a " + op + " of " + std::to_string(in.size()) + " inputs");
      return elementwise(op, in);
    }
  for (const char* u : unary)
    if (op == u) return elementwise(op, {&input(0, "input")});
  if (op == "Min" || op == "Max") {
    if (in.empty()) bad("a " + op + " of no inputs");
    return elementwise(op, in);
  }
  bad("mcuprune cannot evaluate " + op + " at import (it evaluates " + evaluable_ops() + ")");
}

}  // namespace mcuprune::onnx_const
