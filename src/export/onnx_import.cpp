// ONNX -> IR (see onnx_import.h). The facts used are those of the ONNX operator specs
// (attributes, defaults, input order) for opsets 11 to 18.
#include "export/onnx_import.h"

#include "export/onnx_const.h"
#include "quant/quantize.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

namespace mcuprune {

namespace {

namespace ox = ONNX_NAMESPACE;

using onnx_const::Const;

// What an ONNX value is during the walk.
struct Value {
  int node = -1;          // IR node holding it (activations)
  bool flat = false;      // a 2-D [N, K] value
  Shape nchw_before_flatten{0, 0, 0};  // a flatten of an NCHW map with H*W > 1 (CHW order)
  bool shape_like = false;  // computed from shapes only (Shape, Gather, ...): folded away
  bool nhwc = false;        // transposed to NHWC (perm 0,2,3,1): only a flatten may read it
  PadAmounts pad;           // a zero Pad not yet applied: only a Conv may read it (its padding)
  bool padded() const { return pad.top || pad.left || pad.bottom || pad.right; }
};

Value at_node(int node) {
  Value v;
  v.node = node;
  return v;
}

class Importer {
 public:
  Importer(const ox::ModelProto& m, std::string where) : m_(m), where_(std::move(where)) {}

  ImportedOnnx run() {
    const ox::GraphProto& g = m_.graph();
    check_opset();
    for (const auto& t : g.initializer()) {
      if (consts_.count(t.name()))
        fail("two initializers are named '" + t.name() + "'; an ONNX name is defined once (re-export the model, or "
             "rename one of them)");
      consts_[t.name()] = read_tensor(t, "initializer " + t.name());
    }
    // The image input: the first graph input that is not an initializer.
    const ox::ValueInfoProto* in = nullptr;
    for (const auto& v : g.input())
      if (!consts_.count(v.name())) {
        in = &v;
        break;
      }
    if (!in) fail("the model has no input besides its weights");
    std::vector<std::string> inputs;
    for (const auto& v : g.input())
      if (!consts_.count(v.name())) inputs.push_back(v.name());
    if (inputs.size() > 1)
      fail("the model has " + std::to_string(inputs.size()) + " inputs ('" + inputs[0] + "', '" + inputs[1] + "'" +
           (inputs.size() > 2 ? ", ..." : "") + "); mcuprune takes CNNs with one image input: export the model with one");
    check_single_definitions(g, in->name());
    if (g.output_size() != 1) fail("the model has " + std::to_string(g.output_size()) + " outputs; mcuprune takes one");
    // An NHWC input (as tf2onnx writes Keras models) is read only by transposes to NCHW.
    bool to_nchw = false, other_reader = false;
    for (const auto& n : g.node())
      for (const auto& x : n.input())
        if (x == in->name())
          (n.op_type() == "Transpose" && ints(n, "perm") == std::vector<int64_t>{0, 3, 1, 2} ? to_nchw : other_reader) = true;
    const bool nhwc = to_nchw && !other_reader;
    Shape s = input_shape(*in, nhwc);
    // The original names stay the exported model's interface; no node may take them.
    OnnxInterface io{in->name(), g.output(0).name(), nhwc};
    for (const std::string& v : {io.input, io.output}) {
      used_names_.insert(v);
      used_names_.insert(v.substr(0, v.find('.')));  // "<node>.weight" style names
    }
    b_ = std::make_unique<GraphBuilder>(g.name().empty() ? "onnx_model" : sanitize(g.name()), s);
    Value iv = at_node(0);
    iv.nhwc = nhwc;
    values_[in->name()] = iv;
    for (const auto& n : g.node()) import_node(n);
    const Value& o = value(g.output(0).name(), "the graph output");
    if (o.padded() || o.nhwc || o.shape_like) fail("the graph output must be a feature map in NCHW or a 2-D value");
    Graph graph = b_->finish();
    graph.output = o.node;
    graph.onnx_io = io;
    graph.infer_shapes();
    if (const std::vector<int> dead = nodes_not_reaching_output(graph); !dead.empty())
      fail("node '" + graph.nodes[size_t(dead[0])].name + "' does not lead to the output '" + io.output +
           "'; mcuprune takes models whose every node feeds the one output");
    out_.graph = std::move(graph);
    check_weights_match(out_.graph, out_.weights, where_);
    check_float_forward(out_.graph, out_.weights, where_);  // finite weights can still overflow float32
    return std::move(out_);
  }

 private:
  [[noreturn]] void fail(const std::string& msg) const { throw UserError(where_ + ": " + msg); }
  [[noreturn]] void unsupported(const ox::NodeProto& n, const std::string& what) const {
    fail("node '" + n.name() + "' (" + n.op_type() + "): " + what);
  }

  static std::string sanitize(const std::string& s) {
    std::string r;
    // Letters, digits, '_' and '-' only: node names become weight-name prefixes ("<node>.weight")
    // and torch module names, where a dot is a separator.
    for (char c : s) r += (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') ? c : '_';
    return r.empty() ? "node" : r;
  }

  std::string unique_name(const ox::NodeProto& n) {
    std::string base = sanitize(n.name().empty() ? (n.op_type() + "_" + std::to_string(counter_)) : n.name());
    std::string name = base;
    for (int k = 1; used_names_.count(name); ++k) name = base + "_" + std::to_string(k);
    used_names_.insert(name);
    ++counter_;
    return name;
  }

  void check_opset() {
    int64_t v = -1;
    for (const auto& o : m_.opset_import())
      if (o.domain().empty() || o.domain() == "ai.onnx") v = o.version();
    if (v < 0) fail("no default-domain opset in the model");
    if (v < 11 || v > 18) fail("opset " + std::to_string(v) + " is not supported (11 to 18 are); re-export with opset 13");
  }

  Const read_tensor(const ox::TensorProto& t, const std::string& what) const {
    try {
      return onnx_const::read_tensor(t, what);
    } catch (const onnx_const::ConstError& e) {
      fail(e.what());
    }
  }

  // Every value is defined once: by one initializer, the graph input or one node output.
  void check_single_definitions(const ox::GraphProto& g, const std::string& input) const {
    std::map<std::string, std::string> by;  // value name -> what defines it
    for (const auto& t : g.initializer()) by[t.name()] = "an initializer";
    if (!by.count(input)) by[input] = "the graph input";
    for (const auto& n : g.node())
      for (const auto& o : n.output()) {
        if (o.empty()) continue;
        auto it = by.find(o);
        if (it != by.end())
          unsupported(n, "its output '" + o + "' is also defined by " + it->second +
                             "; an ONNX name is defined once (re-export the model)");
        by[o] = "node '" + n.name() + "' (" + n.op_type() + ")";
      }
  }

  static const char* element_type_name(int t) {
    switch (t) {
      case ox::TensorProto::UINT8: return "uint8";
      case ox::TensorProto::INT8: return "int8";
      case ox::TensorProto::UINT16: return "uint16";
      case ox::TensorProto::INT16: return "int16";
      case ox::TensorProto::INT32: return "int32";
      case ox::TensorProto::INT64: return "int64";
      case ox::TensorProto::BOOL: return "bool";
      case ox::TensorProto::FLOAT16: return "float16";
      case ox::TensorProto::DOUBLE: return "double";
      case ox::TensorProto::BFLOAT16: return "bfloat16";
      default: return "not a number type";
    }
  }

  Shape input_shape(const ox::ValueInfoProto& v, bool nhwc) const {
    if (!v.type().has_tensor_type() || !v.type().tensor_type().has_shape())
      fail("input '" + v.name() + "' has no tensor shape");
    // The IR's input is float (normalised pixels, int8-quantised by mcuprune's own calibration).
    // An integer input carries a quantisation or a pixel scaling inside the model that the
    // IR cannot hold: importing it as float would silently change what the model computes.
    if (const int et = v.type().tensor_type().elem_type(); et != ox::TensorProto::FLOAT)
      fail("input '" + v.name() + "' is " + element_type_name(et) + " (ONNX element type " + std::to_string(et) +
           "); mcuprune imports float32 models and makes their int8 version itself (quantize, export): "
           "export the float model with a float32 input, with any pixel scaling taken out and given to "
           "import as --input-mean/--input-std");
    const auto& dims = v.type().tensor_type().shape().dim();
    if (dims.size() != 4)
      fail("input '" + v.name() + "' has rank " + std::to_string(dims.size()) + "; an image input [N, C, H, W] (or [N, H, W, C] followed by a transpose) is needed");
    std::vector<int64_t> d;
    for (int k = 1; k < 4; ++k) {
      if (!dims[k].has_dim_value() || dims[k].dim_value() < 1 || dims[k].dim_value() > 65535)
        fail("input '" + v.name() + "': dimension " + std::to_string(k) + " must be a fixed size in [1, 65535] (C, H and W)");
      d.push_back(dims[k].dim_value());
    }
    if (dims[0].has_dim_value() && dims[0].dim_value() != 1)
      fail("input '" + v.name() + "' has batch " + std::to_string(dims[0].dim_value()) + "; export with batch 1 or a symbolic batch");
    return nhwc ? Shape{int(d[0]), int(d[1]), int(d[2])} : Shape{int(d[1]), int(d[2]), int(d[0])};
  }

  const Value& value(const std::string& name, const std::string& what) const {
    auto it = values_.find(name);
    if (it == values_.end()) fail(what + " '" + name + "' is not computed by any supported node before it is used");
    return it->second;
  }
  const Const* constant(const std::string& name) const {
    auto it = consts_.find(name);
    return it == consts_.end() ? nullptr : &it->second;
  }
  const Const& need_const(const ox::NodeProto& n, int k, const std::string& what) const {
    if (k >= n.input_size() || n.input(k).empty()) unsupported(n, "missing " + what);
    const Const* c = constant(n.input(k));
    if (!c) unsupported(n, what + " '" + n.input(k) + "' must be a constant (an initializer, or computed from constants)");
    return *c;
  }

  static const ox::AttributeProto* attr(const ox::NodeProto& n, const std::string& name) {
    for (const auto& a : n.attribute())
      if (a.name() == name) return &a;
    return nullptr;
  }
  static std::vector<int64_t> ints(const ox::NodeProto& n, const std::string& name, std::vector<int64_t> def = {}) {
    const auto* a = attr(n, name);
    return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : def;
  }
  static int64_t int_attr(const ox::NodeProto& n, const std::string& name, int64_t def) {
    const auto* a = attr(n, name);
    return a ? a->i() : def;
  }
  static float float_attr(const ox::NodeProto& n, const std::string& name, float def) {
    const auto* a = attr(n, name);
    return a ? a->f() : def;
  }

  int spatial_input(const ox::NodeProto& n, int k = 0) { return spatial_input_named(n, arg(n, k)); }

  // Kernel, strides, dilations and padding of a Conv or pool onto node `nd`.
  void window(const ox::NodeProto& n, Node& nd, int kh, int kw, bool conv) {
    nd.kernel_h = kh, nd.kernel_w = kw;
    auto strides = ints(n, "strides", {1, 1}), dil = ints(n, "dilations", {1, 1});
    if (strides.size() != 2 || dil.size() != 2) unsupported(n, "only 2-D windows are supported");
    nd.stride_h = int(strides[0]), nd.stride_w = int(strides[1]);
    if (conv) nd.dilation_h = int(dil[0]), nd.dilation_w = int(dil[1]);
    else if (dil[0] != 1 || dil[1] != 1) unsupported(n, "dilated pooling is not supported");
    const auto* ap = attr(n, "auto_pad");
    const std::string auto_pad = ap ? ap->s() : "NOTSET";
    if (auto_pad == "SAME_UPPER") {
      nd.padding = Padding::Same;  // the extra padding at the end, as TensorFlow's SAME
    } else if (auto_pad == "VALID") {
      nd.padding = Padding::Valid;
    } else if (auto_pad == "NOTSET") {
      auto pads = ints(n, "pads", {0, 0, 0, 0});
      if (pads.size() != 4) unsupported(n, "pads must have 4 values for a 2-D window");
      for (int64_t p : pads)
        if (p < 0 || p > 1024) unsupported(n, "pads must be in [0, 1024]");
      nd.padding = Padding::Explicit;
      nd.pad_top = int(pads[0]), nd.pad_left = int(pads[1]), nd.pad_bottom = int(pads[2]), nd.pad_right = int(pads[3]);
    } else {
      unsupported(n, "auto_pad " + auto_pad + " is not supported (NOTSET, SAME_UPPER and VALID are)");
    }
  }

  void set_value(const ox::NodeProto& n, int k, Value v) {
    if (k < n.output_size()) values_[n.output(k)] = v;
  }

  int append(Node nd, const std::vector<int>& inputs) {
    nd.inputs = inputs;
    return b_->append(std::move(nd));
  }

  // Input k of a node, which must exist (a malformed file may omit it).
  const std::string& arg(const ox::NodeProto& n, int k) const {
    if (k >= n.input_size()) unsupported(n, "input " + std::to_string(k) + " is missing");
    return n.input(k);
  }

  void import_node(const ox::NodeProto& n) {
    const std::string& op = n.op_type();
    if (n.output_size() < 1 || n.output(0).empty()) unsupported(n, "a node without an output");
    if (!n.domain().empty() && n.domain() != "ai.onnx") unsupported(n, "custom domain '" + n.domain() + "'");
    if (op == "Constant") {
      Const c;
      if (const auto* a = attr(n, "value"); a && a->has_t()) {
        c = read_tensor(a->t(), "constant " + n.output(0));
      } else if (const auto* f = attr(n, "value_float")) {
        c.is_float = true, c.f = {f->f()};
      } else if (const auto* fs = attr(n, "value_floats")) {
        c.is_float = true, c.f.assign(fs->floats().begin(), fs->floats().end()), c.dims = {int64_t(c.f.size())};
      } else if (const auto* i = attr(n, "value_int")) {
        c.i = {i->i()};
      } else if (const auto* is = attr(n, "value_ints")) {
        c.i.assign(is->ints().begin(), is->ints().end()), c.dims = {int64_t(c.i.size())};
      } else {
        unsupported(n, "only numeric constants (value, value_float(s), value_int(s)) are supported");
      }
      for (float x : c.f)
        if (!std::isfinite(x)) unsupported(n, "a NaN or infinite constant");
      consts_[n.output(0)] = std::move(c);
      return;
    }
    if (computes_from_constants_only(n)) {
      if (n.output_size() > 1)
        for (int k = 1; k < n.output_size(); ++k)
          if (!n.output(k).empty()) unsupported(n, "a node on constants with more than one output");
      std::vector<const Const*> in;
      for (const auto& x : n.input()) in.push_back(x.empty() ? nullptr : constant(x));
      try {
        consts_[n.output(0)] = onnx_const::evaluate(n, in);
      } catch (const onnx_const::ConstError& e) {
        unsupported(n, std::string("computes from constants only: ") + e.what());
      }
      return;
    }
    // Squeeze of the 1x1 spatial axes of a pooled map (tf2onnx after a mean): a flat value.
    if (op == "Squeeze" && values_.count(arg(n, 0)) && !values_.at(arg(n, 0)).shape_like) {
      Value v = plain_value(n, arg(n, 0));
      std::vector<int64_t> axes = ints(n, "axes");
      if (n.input_size() > 1 && !arg(n, 1).empty()) axes = need_const(n, 1, "axes").i;
      const Shape sh = b_->shape(v.node);
      if (!v.flat) {
        if (sh.h != 1 || sh.w != 1 || normalized_axes(n, axes, 4) != spatial_axes(v))
          unsupported(n, "only a squeeze of the 1x1 spatial axes of a pooled map is supported");
        v.flat = true;
        v.nhwc = false;
      } else if (!axes.empty()) {
        unsupported(n, "a squeeze of a 2-D value");
      }
      set_value(n, 0, v);
      return;
    }
    // Shape arithmetic that exporters put around Flatten/Reshape: folded away.
    if (op == "Shape" || op == "Gather" || op == "Unsqueeze" || op == "Squeeze" || op == "Cast" ||
        op == "Slice" || (op == "Concat" && is_shape_like(n))) {
      bool shape_input = false;
      for (const auto& in : n.input()) {
        auto it = values_.find(in);
        if (it != values_.end() && (it->second.shape_like || op == "Shape")) shape_input = true;
        else if (!constant(in) && !in.empty()) unsupported(n, "only shape computations are supported for this op");
      }
      if (!shape_input && op != "Shape") unsupported(n, "only shape computations are supported for this op");
      Value v;
      v.shape_like = true;
      set_value(n, 0, v);
      return;
    }
    if (op == "Transpose") {
      // The layout pairs NHWC exporters emit, and a transpose to NHWC before a flatten (whose
      // HWC order is the IR's own): the value itself does not change in the IR.
      Value v = value(arg(n, 0), "input");
      const auto perm = ints(n, "perm");
      if (!v.flat && !v.nhwc && perm == std::vector<int64_t>{0, 2, 3, 1}) {
        v.nhwc = true;
      } else if (v.nhwc && perm == std::vector<int64_t>{0, 3, 1, 2}) {
        v.nhwc = false;
      } else {
        unsupported(n, "only NCHW <-> NHWC layout transposes (perm 0,2,3,1 and back) are supported");
      }
      set_value(n, 0, v);
      return;
    }
    if (op == "Pad") {
      // Zero pads: a no-op (PyTorch emits them around pools), or spatial padding with zeros that
      // the Conv reading it takes as its own padding (Keras' ZeroPadding2D, via tf2onnx).
      Value v = value(arg(n, 0), "input");
      std::vector<int64_t> pads = ints(n, "pads");
      if (n.input_size() > 1 && !arg(n, 1).empty()) pads = need_const(n, 1, "pads").i;
      const std::string mode = attr(n, "mode") ? attr(n, "mode")->s() : "constant";
      float fill = float_attr(n, "value", 0.0f);
      if (n.input_size() > 2 && !arg(n, 2).empty()) {
        const Const& c = need_const(n, 2, "constant_value");
        fill = c.is_float && !c.f.empty() ? c.f[0] : c.i.empty() ? 0.0f : float(c.i[0]);
      }
      const int rank = v.flat ? 2 : 4;
      std::vector<int64_t> axes;
      if (n.input_size() > 3 && !arg(n, 3).empty()) axes = normalized_axes(n, need_const(n, 3, "axes").i, rank, false);
      else for (int k = 0; k < rank; ++k) axes.push_back(k);
      if (pads.size() != 2 * axes.size()) unsupported(n, "pads must hold a begin and an end value per padded axis");
      std::vector<int64_t> begin(size_t(rank), 0), end(size_t(rank), 0);
      for (size_t k = 0; k < axes.size(); ++k) begin[size_t(axes[k])] = pads[k], end[size_t(axes[k])] = pads[k + axes.size()];
      bool any = false;
      for (int k = 0; k < rank; ++k) {
        if (begin[size_t(k)] < 0 || end[size_t(k)] < 0 || begin[size_t(k)] > 1024 || end[size_t(k)] > 1024)
          unsupported(n, "pads must be in [0, 1024] (cropping is not supported)");
        any = any || begin[size_t(k)] || end[size_t(k)];
      }
      if (any) {
        const std::vector<int64_t> sp = spatial_axes(v);
        if (v.flat || v.shape_like) unsupported(n, "padding of a 2-D value");
        for (int k = 0; k < rank; ++k)
          if ((begin[size_t(k)] || end[size_t(k)]) && k != sp[0] && k != sp[1])
            unsupported(n, "padding of the batch or channel axis; only height and width may be padded");
        if (mode != "constant" || fill != 0.0f)
          unsupported(n, "mode '" + mode + "' with value " + std::to_string(fill) + "; only zero padding (mode constant, value 0) is supported");
        v.pad.top += int(begin[size_t(sp[0])]), v.pad.bottom += int(end[size_t(sp[0])]);
        v.pad.left += int(begin[size_t(sp[1])]), v.pad.right += int(end[size_t(sp[1])]);
      }
      set_value(n, 0, v);
      return;
    }
    if (op == "Identity" || op == "Dropout") {
      // Dropout (opset 12+) may say it runs in training mode (its third input): an
      // exported model must be the inference one.
      if (op == "Dropout" && n.input_size() > 2 && !arg(n, 2).empty()) {
        const auto it = consts_.find(arg(n, 2));
        const bool training = it == consts_.end() || it->second.numel() != 1 ||
                              (it->second.is_float ? it->second.f[0] != 0.0f : it->second.i[0] != 0);
        if (training)
          unsupported(n, "a Dropout in training mode; export the model in inference mode (model.eval() before "
                         "torch.onnx.export)");
      }
      set_value(n, 0, value(arg(n, 0), "input"));
      return;
    }
    const std::string name = unique_name(n);
    if (op == "Conv") {
      const Value& xv = value(arg(n, 0), "input");
      if (xv.shape_like || xv.nhwc || xv.flat) spatial_input(n);  // the error for such inputs
      const int x = xv.node;
      const Const& w = need_const(n, 1, "weight");
      if (w.dims.size() != 4 || !w.is_float) unsupported(n, "the weight must be a float [O, I/group, kh, kw] tensor");
      const int in_c = b_->shape(x).c;
      const int64_t group = int_attr(n, "group", 1);
      Node nd;
      nd.name = name;
      window(n, nd, int(w.dims[2]), int(w.dims[3]), true);
      auto ks = ints(n, "kernel_shape", {w.dims[2], w.dims[3]});
      if (ks.size() != 2 || ks[0] != w.dims[2] || ks[1] != w.dims[3]) unsupported(n, "kernel_shape disagrees with the weight");
      if (xv.padded()) {  // a zero Pad before the Conv: its padding
        if (nd.padding == Padding::Same) unsupported(n, "auto_pad SAME_UPPER after a Pad node");
        nd.padding = Padding::Explicit;
        nd.pad_top += xv.pad.top, nd.pad_left += xv.pad.left, nd.pad_bottom += xv.pad.bottom, nd.pad_right += xv.pad.right;
        if (std::max({nd.pad_top, nd.pad_left, nd.pad_bottom, nd.pad_right}) > 1024) unsupported(n, "padding beyond 1024");
      }
      if (group == 1) {
        if (w.dims[1] != in_c) unsupported(n, "the weight has " + std::to_string(w.dims[1]) + " input channels, the input " + std::to_string(in_c));
        nd.kind = OpKind::Conv2D;
        nd.out_channels = int(w.dims[0]);
      } else if (group == in_c && w.dims[1] == 1 && w.dims[0] % in_c == 0) {
        nd.kind = OpKind::DepthwiseConv2D;
        nd.depth_multiplier = int(w.dims[0] / in_c);
      } else {
        unsupported(n, "grouped convolution with group " + std::to_string(group) + " of " + std::to_string(in_c) +
                           " channels; mcuprune supports group 1 and depthwise (group = input channels)");
      }
      nd.use_bias = true;
      out_.weights[name + ".weight"] = {w.dims, w.f};
      std::vector<float> bias(size_t(w.dims[0]), 0.0f);
      if (n.input_size() > 2 && !arg(n, 2).empty()) {
        const Const& bc = need_const(n, 2, "bias");
        if (int64_t(bc.f.size()) != w.dims[0]) unsupported(n, "the bias size differs from the output channels");
        bias = bc.f;
      }
      out_.weights[name + ".bias"] = {{w.dims[0]}, bias};
      set_value(n, 0, at_node(append(nd, {x})));
    } else if (op == "BatchNormalization") {
      if (int_attr(n, "training_mode", 0) != 0) unsupported(n, "training_mode=1; export the model in eval mode");
      const int x = spatial_input(n);
      const int c = b_->shape(x).c;
      const char* names[] = {"gamma", "beta", "running_mean", "running_var"};
      for (int k = 0; k < 4; ++k) {
        const Const& t = need_const(n, k + 1, names[k]);
        if (int64_t(t.f.size()) != c) unsupported(n, std::string(names[k]) + " has " + std::to_string(t.f.size()) + " values for " + std::to_string(c) + " channels");
        out_.weights[name + "." + names[k]] = {{c}, t.f};
      }
      for (float v : out_.weights[name + ".running_var"].data)
        if (v < 0) unsupported(n, "a negative running variance");
      Node nd;
      nd.name = name;
      nd.kind = OpKind::BatchNorm;
      nd.bn_epsilon = float_attr(n, "epsilon", 1e-5f);
      set_value(n, 0, at_node(append(nd, {x})));
    } else if (op == "Relu" || op == "Clip") {
      const Value& in = plain_value(n, arg(n, 0));
      Node nd;
      nd.name = name;
      nd.kind = OpKind::ReLU;
      if (op == "Clip") {
        float lo = -INFINITY, hi = INFINITY;
        auto scalar = [&](int k, const char* what) {
          const Const& c = need_const(n, k, what);
          if (c.f.size() + c.i.size() != 1) unsupported(n, std::string(what) + " must be a single number");
          return c.f.empty() ? float(c.i[0]) : c.f[0];
        };
        if (n.input_size() > 1 && !arg(n, 1).empty()) lo = scalar(1, "min");
        if (n.input_size() > 2 && !arg(n, 2).empty()) hi = scalar(2, "max");
        if (attr(n, "min")) lo = float_attr(n, "min", lo);
        if (attr(n, "max")) hi = float_attr(n, "max", hi);
        if (lo == 0.0f && hi == 6.0f) nd.kind = OpKind::ReLU6;
        else if (!(lo == 0.0f && std::isinf(hi))) unsupported(n, "Clip to [" + std::to_string(lo) + ", " + std::to_string(hi) + "]; ReLU ([0, inf)) and ReLU6 ([0, 6]) are supported");
      }
      Value v = in;
      v.node = append(nd, {in.node});
      set_value(n, 0, v);
    } else if (op == "Add") {
      const Value* a = values_.count(arg(n, 0)) ? &plain_value(n, arg(n, 0)) : nullptr;
      const Value* b = values_.count(arg(n, 1)) ? &plain_value(n, arg(n, 1)) : nullptr;
      if (!a || !b) {
        // MatMul + Add of a constant: the dense layer's bias.
        const std::string& v = a ? arg(n, 0) : arg(n, 1);
        const Const* c = constant(a ? arg(n, 1) : arg(n, 0));
        auto mm = pending_matmul_.find(v);
        if (!c || mm == pending_matmul_.end() || (!a && !b))
          unsupported(n, "adding a constant is supported only as the bias of a MatMul");
        WeightTensor& bias = out_.weights[mm->second + ".bias"];
        if (c->f.size() != bias.data.size()) unsupported(n, "the bias must have one value per output");
        bias.data = c->f;
        pending_matmul_.erase(mm);
        set_value(n, 0, values_.at(v));
        return;
      }
      if (a->flat != b->flat || a->nhwc != b->nhwc || b_->shape(a->node) != b_->shape(b->node))
        unsupported(n, "an Add of values of different shapes or layouts (broadcasting is not supported)");
      Node nd;
      nd.name = name;
      nd.kind = OpKind::Add;
      Value v = *a;
      v.node = append(nd, {a->node, b->node});
      set_value(n, 0, v);
    } else if (op == "Concat") {
      const int64_t axis = int_attr(n, "axis", 1);
      if (axis != 1 && axis != -3) unsupported(n, "concatenation along axis " + std::to_string(axis) + "; channels (axis 1) are supported");
      std::vector<int> ins;
      for (const auto& in : n.input()) ins.push_back(spatial_input_named(n, in));
      Node nd;
      nd.name = name;
      nd.kind = OpKind::Concat;
      set_value(n, 0, at_node(append(nd, ins)));
    } else if (op == "MaxPool" || op == "AveragePool") {
      const int x = spatial_input(n);
      auto ks = ints(n, "kernel_shape");
      if (ks.size() != 2) unsupported(n, "kernel_shape must have 2 values");
      if (n.output_size() > 1 && !n.output(1).empty()) unsupported(n, "the Indices output is not supported");
      Node nd;
      nd.name = name;
      nd.kind = op == "MaxPool" ? OpKind::MaxPool : OpKind::AvgPool;
      window(n, nd, int(ks[0]), int(ks[1]), false);
      const bool padded = nd.padding != Padding::Valid && (nd.padding == Padding::Same || nd.pad_top || nd.pad_left || nd.pad_bottom || nd.pad_right);
      if (op == "AveragePool" && int_attr(n, "count_include_pad", 0) != 0 && padded)
        unsupported(n, "count_include_pad=1 with padding; mcuprune's average excludes padded positions");
      if (int_attr(n, "ceil_mode", 0) != 0) {
        // ceil_mode changes the output only when the floor and the ceiling differ.
        const Shape s = b_->shape(x);
        PadAmounts p = Graph::pad_amounts(nd, s);
        const int eh = s.h + p.top + p.bottom - nd.kernel_h, ew = s.w + p.left + p.right - nd.kernel_w;
        if (eh % nd.stride_h != 0 || ew % nd.stride_w != 0) unsupported(n, "ceil_mode=1 where it changes the output size; re-export with ceil_mode=0 or padding that divides evenly");
      }
      set_value(n, 0, at_node(append(nd, {x})));
    } else if (op == "ReduceMean") {
      // A mean over the spatial axes (Keras' GlobalAveragePooling2D via tf2onnx, torch's x.mean((2, 3))).
      const Value& in = plain_value(n, arg(n, 0));
      std::vector<int64_t> axes = ints(n, "axes");
      if (n.input_size() > 1 && !arg(n, 1).empty()) axes = need_const(n, 1, "axes").i;
      if (in.flat || in.shape_like || normalized_axes(n, axes, 4) != spatial_axes(in))
        unsupported(n, "only a mean over the two spatial axes of a feature map is supported");
      Node nd;
      nd.name = name;
      nd.kind = OpKind::GlobalAvgPool;
      Value v;
      v.node = append(nd, {in.node});
      if (int_attr(n, "keepdims", 1) == 0) v.flat = true;
      else v.nhwc = in.nhwc;
      set_value(n, 0, v);
    } else if (op == "GlobalAveragePool") {
      Node nd;
      nd.name = name;
      nd.kind = OpKind::GlobalAvgPool;
      set_value(n, 0, at_node(append(nd, {spatial_input(n)})));
    } else if (op == "Flatten" || op == "Reshape") {
      const Value& in = plain_value(n, arg(n, 0));
      if (op == "Flatten" && int_attr(n, "axis", 1) != 1) unsupported(n, "axis must be 1");
      if (op == "Reshape") {
        auto it = values_.find(arg(n, 1));
        const bool computed = it != values_.end() && it->second.shape_like;
        const Const* c = constant(arg(n, 1));
        if (!computed) {
          if (!c || c->i.size() != 2 || !(c->i[0] == 1 || c->i[0] == -1 || c->i[0] == 0) ||
              !(c->i[1] == -1 || (b_->shape(in.node).elements() == c->i[1])))
            unsupported(n, "only a reshape to 2-D [N, features] (a flatten) is supported");
        }
      }
      const Shape s = b_->shape(in.node);
      Node nd;
      nd.name = name;
      nd.kind = OpKind::Flatten;
      Value v;
      v.node = append(nd, {in.node});
      v.flat = true;
      if (!in.flat && !in.nhwc && s.h * s.w > 1 && s.c > 1) v.nchw_before_flatten = s;
      set_value(n, 0, v);
    } else if (op == "Gemm" || op == "MatMul") {
      const Value& in = plain_value(n, arg(n, 0));
      const Const& w = need_const(n, 1, "weight");
      if (w.dims.size() != 2 || !w.is_float) unsupported(n, "the weight must be a 2-D float constant");
      bool trans_b = op == "Gemm" && int_attr(n, "transB", 0) != 0;
      if (op == "Gemm" && (int_attr(n, "transA", 0) != 0 || float_attr(n, "alpha", 1.0f) != 1.0f || float_attr(n, "beta", 1.0f) != 1.0f))
        unsupported(n, "transA, alpha and beta must keep their defaults");
      const int64_t out_f = trans_b ? w.dims[0] : w.dims[1], in_f = trans_b ? w.dims[1] : w.dims[0];
      if (b_->shape(in.node).elements() != in_f)
        unsupported(n, "the weight takes " + std::to_string(in_f) + " features, the input has " + std::to_string(b_->shape(in.node).elements()));
      // IR dense weight [out, in] with inputs in HWC flatten order.
      std::vector<float> wd(size_t(out_f * in_f));
      const Shape& chw = in.nchw_before_flatten;
      for (int64_t o = 0; o < out_f; ++o)
        for (int64_t k = 0; k < in_f; ++k) {
          int64_t src_k = k;  // our input index k (HWC order) -> the ONNX feature index (CHW order)
          if (chw.c > 0) {
            const int64_t c = k % chw.c, p = k / chw.c;
            src_k = c * (int64_t(chw.h) * chw.w) + p;
          }
          wd[size_t(o * in_f + k)] = trans_b ? w.f[size_t(o * in_f + src_k)] : w.f[size_t(src_k * out_f + o)];
        }
      std::vector<float> bias(size_t(out_f), 0.0f);
      if (op == "Gemm" && n.input_size() > 2 && !arg(n, 2).empty()) {
        const Const& bc = need_const(n, 2, "bias");
        if (int64_t(bc.f.size()) != out_f) unsupported(n, "the bias must have one value per output (no broadcasting)");
        bias = bc.f;
      }
      Node nd;
      nd.name = name;
      nd.kind = OpKind::Dense;
      nd.out_channels = int(out_f);
      out_.weights[name + ".weight"] = {{out_f, in_f}, wd};
      out_.weights[name + ".bias"] = {{out_f}, bias};
      Value v;
      v.node = append(nd, {in.node});
      v.flat = true;
      set_value(n, 0, v);
      if (op == "MatMul") pending_matmul_[n.output(0)] = name;
    } else if (op == "Softmax") {
      const int64_t axis = int_attr(n, "axis", -1);
      const Value& in = plain_value(n, arg(n, 0));
      if (!in.flat || (axis != 1 && axis != -1)) unsupported(n, "softmax over the features of a 2-D value (axis 1 or -1) is supported");
      Node nd;
      nd.name = name;
      nd.kind = OpKind::Softmax;
      Value v = in;
      v.node = append(nd, {in.node});
      set_value(n, 0, v);
    } else {
      unsupported(n, "operator not supported; supported: Conv, BatchNormalization, Relu, Clip, Add, Concat, MaxPool, "
                     "AveragePool, GlobalAveragePool, ReduceMean (spatial), Flatten, Reshape (to 2-D), Squeeze (1x1), "
                     "Gemm, MatMul, Softmax, Dropout, Identity, Pad (zeros), Transpose (NCHW <-> NHWC)");
    }
  }

  // An activation with no pending Pad (only a Conv takes one).
  const Value& plain_value(const ox::NodeProto& n, const std::string& in) const {
    const Value& v = value(in, "input");
    if (v.padded()) unsupported(n, "an input that a non-zero Pad made; mcuprune takes such padding only into a Conv");
    return v;
  }

  // ONNX axes (negative counting from the end) as sorted indices of a rank-r value.
  std::vector<int64_t> normalized_axes(const ox::NodeProto& n, std::vector<int64_t> axes, int rank, bool sort = true) const {
    for (int64_t& a : axes) {
      if (a < -rank || a >= rank) unsupported(n, "axis " + std::to_string(a) + " out of range for a rank-" + std::to_string(rank) + " value");
      if (a < 0) a += rank;
    }
    if (sort) std::sort(axes.begin(), axes.end());
    return axes;
  }
  // The height and width axes of a 4-D value in its current layout.
  static std::vector<int64_t> spatial_axes(const Value& v) {
    return v.nhwc ? std::vector<int64_t>{1, 2} : std::vector<int64_t>{2, 3};
  }

  int spatial_input_named(const ox::NodeProto& n, const std::string& in) {
    const Value& v = plain_value(n, in);
    if (v.shape_like) unsupported(n, "an input computed from shapes");
    if (v.nhwc) unsupported(n, "an input transposed to NHWC; only Flatten/Reshape (or the transpose back) may read it");
    return v.node;
  }

  // Whether every input given is a constant (an initializer, a Constant, or folded): then the
  // node is evaluated at import, whatever its kind, and its output is a constant too.
  bool computes_from_constants_only(const ox::NodeProto& n) const {
    for (const auto& x : n.input())
      if (!x.empty() && !constant(x)) return false;
    return true;
  }

  bool is_shape_like(const ox::NodeProto& n) const {
    for (const auto& in : n.input()) {
      auto it = values_.find(in);
      if (it != values_.end() && !it->second.shape_like) return false;
    }
    return true;
  }

  const ox::ModelProto& m_;
  std::string where_;
  std::map<std::string, Const> consts_;
  std::map<std::string, Value> values_;
  std::map<std::string, std::string> pending_matmul_;
  std::set<std::string> used_names_;
  int counter_ = 0;
  std::unique_ptr<GraphBuilder> b_;
  ImportedOnnx out_;
};

}  // namespace

ImportedOnnx import_onnx(const std::string& bytes, const std::string& where) {
  ox::ModelProto m;
  if (bytes.empty() || !m.ParseFromString(bytes))
    throw UserError(where + ": not a valid ONNX model (the protobuf does not parse; is the file truncated?)");
  if (!m.has_graph()) throw UserError(where + ": the ONNX model has no graph");
  return Importer(m, where).run();
}

}  // namespace mcuprune
