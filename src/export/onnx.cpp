// ONNX writer on onnx's generated protobuf classes (libonnx-dev).
#include "export/onnx.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <set>

#include "export/layout.h"


namespace mcuprune {

namespace {

namespace ox = ONNX_NAMESPACE;

constexpr int kOpset = 13;

[[noreturn]] void unsupported(const Node& n, const std::string& what) {
  throw UserError(n.name + " (" + op_kind_name(n.kind) + "): " + what + " cannot be exported to ONNX");
}

class Builder {
 public:
  explicit Builder(const Graph& g, const OnnxOptions& opt) : g_(g), opt_(opt) {
    model_.set_ir_version(7);  // the IR version that goes with opset 13
    model_.set_producer_name("mcuprune");
    model_.set_model_version(1);
    if (!opt.doc.empty()) model_.set_doc_string(opt.doc);
    auto* os = model_.add_opset_import();
    os->set_domain("");
    os->set_version(kOpset);
    graph_ = model_.mutable_graph();
    graph_->set_name(g.name.empty() ? "main" : g.name);
  }

  const Graph& g_;
  const OnnxOptions& opt_;
  ox::ModelProto model_;
  ox::GraphProto* graph_;
  int counter_ = 0;

  ox::NodeProto* node(const std::string& op, const std::vector<std::string>& in, const std::vector<std::string>& out,
                      const std::string& name_hint) {
    auto* n = graph_->add_node();
    n->set_op_type(op);
    n->set_name(name_hint + "/" + op + "_" + std::to_string(counter_++));
    for (const auto& s : in) n->add_input(s);
    for (const auto& s : out) n->add_output(s);
    return n;
  }
  static void attr_ints(ox::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(ox::AttributeProto::INTS);
    for (auto x : v) a->add_ints(x);
  }
  static void attr_int(ox::NodeProto* n, const std::string& name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(ox::AttributeProto::INT);
    a->set_i(v);
  }

  template <class T>
  std::string initializer(const std::string& name, const std::vector<int64_t>& dims, const std::vector<T>& data) {
    auto* t = graph_->add_initializer();
    t->set_name(name);
    for (auto d : dims) t->add_dims(d);
    if constexpr (std::is_same_v<T, float>) t->set_data_type(ox::TensorProto::FLOAT);
    else if constexpr (std::is_same_v<T, int8_t>) t->set_data_type(ox::TensorProto::INT8);
    else if constexpr (std::is_same_v<T, int32_t>) t->set_data_type(ox::TensorProto::INT32);
    else if constexpr (std::is_same_v<T, int64_t>) t->set_data_type(ox::TensorProto::INT64);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(data.data()), data.size() * sizeof(T)));
    return name;
  }

  void value_info(ox::ValueInfoProto* v, const std::string& name, int elem, const std::vector<int64_t>& dims) {
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem);
    for (auto d : dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
  }

  // ONNX shape of node i's value: [1, C, H, W], or [1, N] for flat values.
  bool flat(int i) const { return is_flat_value(g_, i); }
  std::vector<int64_t> dims(int i) const {
    const Node& n = g_.nodes[size_t(i)];
    if (flat(i)) return {1, n.out.elements()};
    return {1, n.out.c, n.out.h, n.out.w};
  }
  void pads_strides(ox::NodeProto* o, const Node& n, bool dilations) {
    const Shape& in = g_.nodes[size_t(n.inputs[0])].out;
    PadAmounts p = Graph::pad_amounts(n, in);
    attr_ints(o, "kernel_shape", {n.kernel_h, n.kernel_w});
    attr_ints(o, "strides", {n.stride_h, n.stride_w});
    attr_ints(o, "pads", {p.top, p.left, p.bottom, p.right});
    if (dilations) attr_ints(o, "dilations", {n.dilation_h, n.dilation_w});
  }

  // Appends the activation function (if any) after `pre`, producing `out`.
  void activation(Activation a, const std::string& pre, const std::string& out, const std::string& hint) {
    if (a == Activation::ReLU) {
      node("Relu", {pre}, {out}, hint);
    } else if (a == Activation::ReLU6) {
      std::string lo = initializer<float>(hint + ".clip_min", {}, {0.0f});
      std::string hi = initializer<float>(hint + ".clip_max", {}, {6.0f});
      node("Clip", {pre, lo, hi}, {out}, hint);
    } else {
      node("Identity", {pre}, {out}, hint);
    }
  }

  // Emits node i reading float values named by `in(j)` and writing float value `out`.
  // `w`/`b`: names of the (float or dequantised) weight and bias for conv/dense.
  template <class In>
  void emit(int i, In in, const std::string& out, const std::string& w, const std::string& b) {
    const Node& n = g_.nodes[size_t(i)];
    const Shape& is = g_.nodes[size_t(n.inputs[0])].out;
    const bool has_act = n.activation != Activation::None;
    const std::string pre = has_act ? n.name + "_preact" : out;
    switch (n.kind) {
      case OpKind::Conv2D:
      case OpKind::DepthwiseConv2D: {
        auto* o = node("Conv", {in(0), w, b}, {pre}, n.name);
        pads_strides(o, n, true);
        attr_int(o, "group", n.kind == OpKind::DepthwiseConv2D ? is.c : 1);
        break;
      }
      case OpKind::Dense: {
        std::string x = in(0);
        if (!flat(n.inputs[0])) {  // a 1x1xC map ([1, C, 1, 1]): flatten first (HWC = CHW here)
          if (is.h * is.w != 1) unsupported(n, "a dense layer on a " + is.str() + " map (add a flatten)");
          x = n.name + "_flat";
          attr_int(node("Flatten", {in(0)}, {x}, n.name), "axis", 1);
        }
        auto* o = node("Gemm", {x, w, b}, {pre}, n.name);
        attr_int(o, "transB", 1);
        break;
      }
      case OpKind::MaxPool:
        pads_strides(node("MaxPool", {in(0)}, {pre}, n.name), n, false);
        break;
      case OpKind::AvgPool: {
        auto* o = node("AveragePool", {in(0)}, {pre}, n.name);
        pads_strides(o, n, false);
        attr_int(o, "count_include_pad", 0);  // padding excluded, as in the IR
        break;
      }
      case OpKind::GlobalAvgPool:
        node("GlobalAveragePool", {in(0)}, {pre}, n.name);
        break;
      case OpKind::Add: {
        std::vector<std::string> xs;
        for (size_t j = 0; j < n.inputs.size(); ++j) xs.push_back(in(int(j)));
        node(xs.size() == 2 ? "Add" : "Sum", xs, {pre}, n.name);
        break;
      }
      case OpKind::Concat: {
        for (int x : n.inputs)
          if (flat(x)) unsupported(n, "a concatenation of flat vectors");
        std::vector<std::string> xs;
        for (size_t j = 0; j < n.inputs.size(); ++j) xs.push_back(in(int(j)));
        attr_int(node("Concat", xs, {pre}, n.name), "axis", 1);
        break;
      }
      case OpKind::ReLU:
        node("Relu", {in(0)}, {pre}, n.name);
        break;
      case OpKind::ReLU6:
        activation(Activation::ReLU6, in(0), pre, n.name);
        break;
      case OpKind::Flatten: {
        std::string x = in(0);
        if (!flat(n.inputs[0]) && is.h * is.w > 1) {  // IR flattens HWC: go to NHWC first
          x = n.name + "_nhwc";
          attr_ints(node("Transpose", {in(0)}, {x}, n.name), "perm", {0, 2, 3, 1});
        }
        attr_int(node("Flatten", {x}, {pre}, n.name), "axis", 1);
        break;
      }
      case OpKind::Softmax: {
        if (!flat(n.inputs[0]) && is.h * is.w > 1)
          unsupported(n, "a softmax over a " + is.str() + " map (flatten first)");
        std::string x = in(0);
        if (!flat(n.inputs[0])) {
          x = n.name + "_flat";
          attr_int(node("Flatten", {in(0)}, {x}, n.name), "axis", 1);
        }
        attr_int(node("Softmax", {x}, {pre}, n.name), "axis", -1);
        break;
      }
      case OpKind::BatchNorm:
      case OpKind::Dropout:
        unsupported(n, "an unfolded batchnorm/dropout (fold the model first)");
      case OpKind::Mfcc:  // the export entry points strip the front end first
        unsupported(n, "the audio front end (the model's features are its input)");
      case OpKind::Input:
        break;
    }
    if (has_act) activation(n.activation, pre, out, n.name);
  }

  // Declares the graph input (the imported model's name and layout, or "input" NCHW) and
  // returns the name of its NCHW value.
  std::string graph_input() {
    const OnnxInterface& io = g_.onnx_io;
    const std::string name = io.empty() ? "input" : io.input;
    if (!io.input_nhwc) {
      value_info(graph_->add_input(), name, ox::TensorProto::FLOAT, dims(0));
      return name;
    }
    const Shape& s = g_.input_shape();
    value_info(graph_->add_input(), name, ox::TensorProto::FLOAT, {1, s.h, s.w, s.c});
    const std::string nchw = name + "_nchw";
    attr_ints(node("Transpose", {name}, {nchw}, "input"), "perm", {0, 3, 1, 2});
    return nchw;
  }

  // Every value must be defined once; an imported interface name that an edited model.json
  // made clash with a node's value would otherwise give an invalid file.
  void check_unique_definitions() const {
    std::set<std::string> seen;
    auto define = [&](const std::string& v) {
      if (!seen.insert(v).second)
        throw UserError("ONNX export: the value name '" + v + "' is defined twice; if it is an onnx_interface " +
                        "name in model.json, rename it there or rename the node of that name");
    };
    for (const auto& v : graph_->input()) define(v.name());
    for (const auto& t : graph_->initializer()) define(t.name());
    for (const auto& n : graph_->node())
      for (const auto& o : n.output()) define(o);
  }

  std::string finish() {
    check_unique_definitions();
    try {
      ox::checker::check_model(model_);
    } catch (const std::exception& e) {
      throw std::logic_error(std::string("ONNX checker rejected the exported model: ") + e.what());
    }
    std::string bytes;
    if (!model_.SerializeToString(&bytes)) throw std::runtime_error("ONNX: serialisation failed");
    return bytes;
  }
};

std::vector<int64_t> weight_dims(const Node& n, const Shape& in, int64_t numel) {
  if (n.kind == OpKind::Conv2D) return {n.out.c, in.c, n.kernel_h, n.kernel_w};
  if (n.kind == OpKind::DepthwiseConv2D) return {n.out.c, 1, n.kernel_h, n.kernel_w};
  return {n.out.c, numel / n.out.c};  // dense [out, in]
}

bool has_weights(OpKind k) { return k == OpKind::Conv2D || k == OpKind::DepthwiseConv2D || k == OpKind::Dense; }

}  // namespace

std::string onnx_int8_name(const std::string& node) { return node + "_q"; }

namespace {
// The ONNX exports take the features, as the TFLite one does: the front end stays with the application.
OnnxOptions options_without_front_end(const Graph& g, const OnnxOptions& opt) {
  OnnxOptions o = opt;
  o.order.clear();
  for (int i : opt.order)
    if (i != g.front_end()) o.order.push_back(index_without_front_end(g, i));
  return o;
}
}  // namespace

std::string export_onnx_float(const FoldedModel& f, const OnnxOptions& opt) {
  if (f.graph.front_end() >= 0)
    return export_onnx_float(FoldedModel{without_front_end(f.graph), f.weights}, options_without_front_end(f.graph, opt));
  const Graph& g = f.graph;
  Builder b(g, opt);
  const std::vector<int> order = checked_execution_order(g, opt.order);
  std::vector<std::string> name(g.nodes.size());
  name[0] = b.graph_input();
  for (int i : order) {
    const Node& n = g.nodes[size_t(i)];
    std::string w, bias;
    if (has_weights(n.kind)) {
      const WeightTensor& wt = f.weights.at(n.name + ".weight");
      w = b.initializer<float>(n.name + ".weight", weight_dims(n, g.nodes[size_t(n.inputs[0])].out, wt.numel()),
                               wt.data);
      std::vector<float> bv(size_t(n.out.c), 0.0f);
      if (n.use_bias) bv = f.weights.at(n.name + ".bias").data;
      bias = b.initializer<float>(n.name + ".bias", {n.out.c}, bv);
    }
    name[size_t(i)] = i == g.output && !g.onnx_io.empty() ? g.onnx_io.output : n.name;
    b.emit(i, [&](int j) { return name[size_t(n.inputs[size_t(j)])]; }, name[size_t(i)], w, bias);
  }
  b.value_info(b.graph_->add_output(), name[size_t(g.output)], ox::TensorProto::FLOAT, b.dims(g.output));
  if (opt.all_outputs)
    for (int i : order)
      if (i != g.output) b.value_info(b.graph_->add_output(), name[size_t(i)], ox::TensorProto::FLOAT, b.dims(i));
  return b.finish();
}

std::string export_onnx_qdq(const QuantizedModel& q, const OnnxOptions& opt) {
  if (q.graph.front_end() >= 0) return export_onnx_qdq(without_front_end(q), options_without_front_end(q.graph, opt));
  const Graph& g = q.graph;
  Builder b(g, opt);
  const std::vector<int> order = checked_execution_order(g, opt.order);
  const std::string input = b.graph_input();
  // Every activation: float value -> QuantizeLinear -> int8 "<name>_q" -> DequantizeLinear -> "<name>_dq".
  std::vector<std::string> dq(g.nodes.size());
  auto quant_pair = [&](int i, const std::string& float_value) {
    const Node& n = g.nodes[size_t(i)];
    const QuantParams& p = q.activations[size_t(i)];
    std::string s = b.initializer<float>(n.name + ".act_scale", {}, {p.scale});
    std::string z = b.initializer<int8_t>(n.name + ".act_zero_point", {}, {int8_t(p.zero_point)});
    b.node("QuantizeLinear", {float_value, s, z}, {onnx_int8_name(n.name)}, n.name);
    b.node("DequantizeLinear", {onnx_int8_name(n.name), s, z}, {n.name + "_dq"}, n.name);
    dq[size_t(i)] = n.name + "_dq";
  };
  quant_pair(0, input);
  for (int i : order) {
    const Node& n = g.nodes[size_t(i)];
    std::string w, bias;
    if (has_weights(n.kind)) {
      const QuantizedLayer& L = q.layers.at(i);
      const Shape& is = g.nodes[size_t(n.inputs[0])].out;
      const int oc = n.out.c;
      const bool per_channel = L.weight_scales.size() > 1;
      std::vector<int64_t> wd = weight_dims(n, is, int64_t(L.weights.size()));
      std::string wq = b.initializer<int8_t>(n.name + ".weight_q", wd, L.weights);
      std::vector<int64_t> sdims = per_channel ? std::vector<int64_t>{oc} : std::vector<int64_t>{};
      std::string ws = b.initializer<float>(n.name + ".weight_scale", sdims, L.weight_scales);
      std::string wz = b.initializer<int8_t>(n.name + ".weight_zero_point", sdims,
                                             std::vector<int8_t>(L.weight_scales.size(), 0));
      auto* dn = b.node("DequantizeLinear", {wq, ws, wz}, {n.name + ".weight"}, n.name);
      if (per_channel) Builder::attr_int(dn, "axis", 0);
      w = n.name + ".weight";
      // int32 bias, scale input_scale * weight_scale (per channel where the weights are).
      std::vector<float> bs;
      for (float s : L.weight_scales) bs.push_back(q.activations[size_t(n.inputs[0])].scale * s);
      std::string bq = b.initializer<int32_t>(n.name + ".bias_q", {oc}, L.bias);
      std::string bsn = b.initializer<float>(n.name + ".bias_scale", sdims, bs);
      std::string bz = b.initializer<int32_t>(n.name + ".bias_zero_point", sdims,
                                              std::vector<int32_t>(L.weight_scales.size(), 0));
      auto* bn = b.node("DequantizeLinear", {bq, bsn, bz}, {n.name + ".bias"}, n.name);
      if (per_channel) Builder::attr_int(bn, "axis", 0);
      bias = n.name + ".bias";
    }
    b.emit(i, [&](int j) { return dq[size_t(n.inputs[size_t(j)])]; }, n.name + "_f", w, bias);
    quant_pair(i, n.name + "_f");
  }
  std::string output = dq[size_t(g.output)];
  if (!g.onnx_io.empty()) {
    b.node("Identity", {output}, {g.onnx_io.output}, "output");
    output = g.onnx_io.output;
  }
  b.value_info(b.graph_->add_output(), output, ox::TensorProto::FLOAT, b.dims(g.output));
  if (opt.all_outputs) {
    b.value_info(b.graph_->add_output(), onnx_int8_name(g.nodes[0].name), ox::TensorProto::INT8, b.dims(0));
    for (int i : order)
      b.value_info(b.graph_->add_output(), onnx_int8_name(g.nodes[size_t(i)].name), ox::TensorProto::INT8,
                   b.dims(i));
  }
  return b.finish();
}

}  // namespace mcuprune
