// TFLite flatbuffer writer. Tables are built bottom-up with flatbuffers' generic builder
// and the field ids in tflite_schema.h.
#include "export/tflite.h"

#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <map>

#include "export/layout.h"
#include "export/tflite_schema.h"
#include "resources/tflite_padding.h"

namespace mcuprune {

namespace {

using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;
template <class T>
using Vec = flatbuffers::Vector<T>;

[[noreturn]] void unsupported(const Node& n, const std::string& what) {
  throw UserError(n.name + " (" + op_kind_name(n.kind) + "): " + what + " cannot be exported to TFLite");
}

int8_t tfl_activation(const Node& n) {
  switch (n.activation) {
    case Activation::None: return tfl::kActNone;
    case Activation::ReLU: return tfl::kActRelu;
    case Activation::ReLU6: return tfl::kActRelu6;
  }
  return tfl::kActNone;
}

int8_t tfl_padding(TflitePadKind k) { return k == TflitePadKind::Same ? tfl::kSame : tfl::kValid; }

class Writer {
 public:
  Writer(const QuantizedModel& q, const TfliteOptions& opt) : q_(q), g_(q.graph), opt_(opt) {
    buffers_.push_back(empty_buffer());  // buffer 0: the empty buffer tensors without data use
  }

  std::string run() {
    order_ = checked_execution_order(g_, opt_.order);
    const int n = int(g_.nodes.size());
    value_tensor_.assign(size_t(n), -1);
    padding_.resize(size_t(n));
    pad_tensor_.assign(size_t(n), -1);
    // Activation tensors in node order; a padded input right before the tensor of the
    // conv/pool reading it (the order the TFLM simulation assumes, resources/tflm.h).
    for (int i = 0; i < n; ++i) {
      const OpKind k = g_.nodes[size_t(i)].kind;
      if (k == OpKind::Conv2D || k == OpKind::DepthwiseConv2D || k == OpKind::MaxPool || k == OpKind::AvgPool)
        padding_[size_t(i)] = tflite_padding(g_, i);
      if (padding_[size_t(i)].kind == TflitePadKind::PadOp) pad_tensor_[size_t(i)] = padded_tensor(i);
      value_tensor_[size_t(i)] = activation_tensor(i);
    }

    int model_input = value_tensor_[0];
    if (opt_.float_io) {
      model_input = float_tensor(g_.nodes[0].name + "_float", shape_of(0));
      add_op(tfl::kQuantize, 2, {model_input}, {value_tensor_[0]});
    }
    for (int i : order_) emit(i);
    int model_output = value_tensor_[size_t(g_.output)];
    if (opt_.float_io) {
      int f = float_tensor(g_.nodes[size_t(g_.output)].name + "_float", shape_of(g_.output));
      add_op(tfl::kDequantize, 2, {model_output}, {f});
      model_output = f;
    }
    std::vector<int32_t> outputs{model_output};
    if (opt_.all_outputs)
      for (int i : order_) {
        if (pad_tensor_[size_t(i)] >= 0) outputs.push_back(pad_tensor_[size_t(i)]);
        if (value_tensor_[size_t(i)] != model_output) outputs.push_back(value_tensor_[size_t(i)]);
      }
    return finish({model_input}, outputs);
  }

 private:
  const QuantizedModel& q_;
  const Graph& g_;
  const TfliteOptions& opt_;
  FlatBufferBuilder b_{1 << 16};
  std::vector<Offset<void>> tensors_, operators_, buffers_, opcodes_;
  std::map<std::pair<int32_t, int32_t>, uint32_t> opcode_index_;  // (code, version) -> index
  std::vector<int> value_tensor_;                                 // node -> tensor index
  std::vector<TflitePadding> padding_;                            // per conv/pool node
  std::vector<int> pad_tensor_;                                   // node -> its padded input (-1: none)
  std::vector<int> order_;

  Offset<void> empty_buffer() {
    auto s = b_.StartTable();
    return Offset<void>(b_.EndTable(s));
  }

  uint32_t data_buffer(const void* data, size_t bytes) {
    b_.ForceVectorAlignment(bytes, 1, 16);
    auto v = b_.CreateVector(static_cast<const uint8_t*>(data), bytes);
    auto s = b_.StartTable();
    b_.AddOffset(tfl::field(tfl::buffer::data), v);
    buffers_.push_back(Offset<void>(b_.EndTable(s)));
    return uint32_t(buffers_.size() - 1);
  }

  std::vector<int32_t> shape_of(int i) const {
    const Shape& s = g_.nodes[size_t(i)].out;
    if (is_flat_value(g_, i)) return {1, int32_t(s.elements())};
    return {1, s.h, s.w, s.c};
  }

  int add_tensor(const std::string& name, const std::vector<int32_t>& shape, int8_t type, uint32_t buffer,
                 Offset<void> quant) {
    auto shp = b_.CreateVector(shape);
    auto nm = b_.CreateString(name);
    auto s = b_.StartTable();
    b_.AddOffset(tfl::field(tfl::tensor::shape), shp);
    b_.AddElement<int8_t>(tfl::field(tfl::tensor::type), type, -1);  // always written
    b_.AddElement<uint32_t>(tfl::field(tfl::tensor::buffer), buffer, 0);
    b_.AddOffset(tfl::field(tfl::tensor::name), nm);
    if (!quant.IsNull()) b_.AddOffset(tfl::field(tfl::tensor::quantization), quant);
    tensors_.push_back(Offset<void>(b_.EndTable(s)));
    return int(tensors_.size() - 1);
  }

  Offset<void> quant_params(const std::vector<float>& scales, const std::vector<int64_t>& zero_points, int dim) {
    auto sc = b_.CreateVector(scales);
    auto zp = b_.CreateVector(zero_points);
    auto s = b_.StartTable();
    b_.AddOffset(tfl::field(tfl::quantization::scale), sc);
    b_.AddOffset(tfl::field(tfl::quantization::zero_point), zp);
    b_.AddElement<int32_t>(tfl::field(tfl::quantization::quantized_dimension), dim, 0);
    return Offset<void>(b_.EndTable(s));
  }

  int activation_tensor(int i) {
    const QuantParams& p = q_.activations[size_t(i)];
    return add_tensor(g_.nodes[size_t(i)].name, shape_of(i), tfl::kInt8, 0,
                      quant_params({p.scale}, {p.zero_point}, 0));
  }

  // Node i's input padded as padding_[i] says, with the input's quantisation: PAD fills with
  // the zero point, the real 0 that the integer reference's padded taps stand for.
  int padded_tensor(int i) {
    const Node& n = g_.nodes[size_t(i)];
    const Shape s = tflite_padded_shape(g_.nodes[size_t(n.inputs[0])].out, padding_[size_t(i)].pad);
    const QuantParams& p = q_.activations[size_t(n.inputs[0])];
    return add_tensor(n.name + ".pad", {1, s.h, s.w, s.c}, tfl::kInt8, 0, quant_params({p.scale}, {p.zero_point}, 0));
  }

  // The PAD operator before node i: reads node i's input, writes pad_tensor_[i]; returns it.
  int32_t emit_pad(int i, int32_t input) {
    const PadAmounts& p = padding_[size_t(i)].pad;
    const int32_t paddings[4][2] = {{0, 0}, {p.top, p.bottom}, {p.left, p.right}, {0, 0}};  // NHWC
    int pt = const_tensor(g_.nodes[size_t(i)].name + ".paddings", {4, 2}, tfl::kInt32, paddings, sizeof paddings,
                          Offset<void>());
    auto s = b_.StartTable();  // PadOptions has no fields
    add_op(tfl::kPad, 2, {input, pt}, {pad_tensor_[size_t(i)]}, tfl::kPadOptions, Offset<void>(b_.EndTable(s)));
    return pad_tensor_[size_t(i)];
  }

  int float_tensor(const std::string& name, const std::vector<int32_t>& shape) {
    return add_tensor(name, shape, tfl::kFloat32, 0, Offset<void>());
  }

  int const_tensor(const std::string& name, const std::vector<int32_t>& shape, int8_t type, const void* data,
                   size_t bytes, Offset<void> quant) {
    return add_tensor(name, shape, type, data_buffer(data, bytes), quant);
  }

  uint32_t opcode(int32_t code, int32_t version) {
    auto key = std::make_pair(code, version);
    auto it = opcode_index_.find(key);
    if (it != opcode_index_.end()) return it->second;
    auto s = b_.StartTable();
    // Readers built before builtin_code existed read the byte field; both carry the code.
    b_.AddElement<int8_t>(tfl::field(tfl::operator_code::deprecated_builtin_code), int8_t(std::min(code, 127)), 0);
    b_.AddElement<int32_t>(tfl::field(tfl::operator_code::version), version, 1);
    b_.AddElement<int32_t>(tfl::field(tfl::operator_code::builtin_code), code, 0);
    opcodes_.push_back(Offset<void>(b_.EndTable(s)));
    uint32_t idx = uint32_t(opcodes_.size() - 1);
    opcode_index_[key] = idx;
    return idx;
  }

  void add_op(int32_t code, int32_t version, const std::vector<int32_t>& in, const std::vector<int32_t>& out,
              uint8_t options_type = tfl::kNoOptions, Offset<void> options = Offset<void>()) {
    uint32_t oc = opcode(code, version);
    auto vi = b_.CreateVector(in);
    auto vo = b_.CreateVector(out);
    auto s = b_.StartTable();
    b_.AddElement<uint32_t>(tfl::field(tfl::op::opcode_index), oc, 0);
    b_.AddOffset(tfl::field(tfl::op::inputs), vi);
    b_.AddOffset(tfl::field(tfl::op::outputs), vo);
    if (options_type != tfl::kNoOptions) {
      b_.AddElement<uint8_t>(tfl::field(tfl::op::builtin_options_type), options_type, 0);
      b_.AddOffset(tfl::field(tfl::op::builtin_options), options);
    }
    operators_.push_back(Offset<void>(b_.EndTable(s)));
  }

  // Weights and bias of a conv/depthwise/dense node as constant tensors.
  std::pair<int, int> layer_tensors(int i) {
    const Node& n = g_.nodes[size_t(i)];
    const QuantizedLayer& L = q_.layers.at(i);
    const Shape& in = g_.nodes[size_t(n.inputs[0])].out;
    const int oc = n.out.c;
    std::vector<int8_t> w;
    std::vector<int32_t> wshape;
    int qdim = 0;
    if (n.kind == OpKind::Conv2D) {  // OIHW -> OHWI
      const int ic = in.c, kh = n.kernel_h, kw = n.kernel_w;
      w.resize(L.weights.size());
      for (int o = 0; o < oc; ++o)
        for (int c = 0; c < ic; ++c)
          for (int y = 0; y < kh; ++y)
            for (int x = 0; x < kw; ++x)
              w[size_t(((o * kh + y) * kw + x) * ic + c)] = L.weights[size_t(((o * ic + c) * kh + y) * kw + x)];
      wshape = {oc, kh, kw, ic};
    } else if (n.kind == OpKind::DepthwiseConv2D) {  // [C*m, 1, kh, kw] -> [1, kh, kw, C*m]
      const int kh = n.kernel_h, kw = n.kernel_w;
      w.resize(L.weights.size());
      for (int o = 0; o < oc; ++o)
        for (int y = 0; y < kh; ++y)
          for (int x = 0; x < kw; ++x) w[size_t((y * kw + x) * oc + o)] = L.weights[size_t((o * kh + y) * kw + x)];
      wshape = {1, kh, kw, oc};
      qdim = 3;
    } else {  // dense: [out, in], inputs in HWC flatten order, as TFLite's NHWC reshape
      w = L.weights;
      wshape = {oc, int32_t(in.elements())};
    }
    // Bias scale = input scale * weight scale, per channel where the weights are.
    std::vector<float> bias_scales;
    const float in_scale = q_.activations[size_t(n.inputs[0])].scale;
    for (float ws : L.weight_scales) bias_scales.push_back(in_scale * ws);
    std::vector<int64_t> zeros(L.weight_scales.size(), 0);
    int wt = const_tensor(n.name + ".weight", wshape, tfl::kInt8, w.data(), w.size(),
                          quant_params(L.weight_scales, zeros, qdim));
    int bt = const_tensor(n.name + ".bias", {oc}, tfl::kInt32, L.bias.data(), L.bias.size() * sizeof(int32_t),
                          quant_params(bias_scales, zeros, 0));
    return {wt, bt};
  }

  Offset<void> pool_options(int8_t padding, int sh, int sw, int kh, int kw) {
    auto s = b_.StartTable();
    b_.AddElement<int8_t>(tfl::field(tfl::pool2d_options::padding), padding, -1);
    b_.AddElement<int32_t>(tfl::field(tfl::pool2d_options::stride_w), sw, 0);
    b_.AddElement<int32_t>(tfl::field(tfl::pool2d_options::stride_h), sh, 0);
    b_.AddElement<int32_t>(tfl::field(tfl::pool2d_options::filter_width), kw, 0);
    b_.AddElement<int32_t>(tfl::field(tfl::pool2d_options::filter_height), kh, 0);
    b_.AddElement<int8_t>(tfl::field(tfl::pool2d_options::fused_activation), tfl::kActNone, -1);
    return Offset<void>(b_.EndTable(s));
  }

  void emit(int i) {
    const Node& n = g_.nodes[size_t(i)];
    std::vector<int32_t> ins;
    for (int in : n.inputs) ins.push_back(value_tensor_[size_t(in)]);
    const std::vector<int32_t> outs{value_tensor_[size_t(i)]};
    const Shape& is = g_.nodes[size_t(n.inputs[0])].out;
    if (pad_tensor_[size_t(i)] >= 0) ins[0] = emit_pad(i, ins[0]);
    const int8_t padding = tfl_padding(padding_[size_t(i)].kind);
    switch (n.kind) {
      case OpKind::Conv2D: {
        auto [w, bias] = layer_tensors(i);
        auto s = b_.StartTable();
        b_.AddElement<int8_t>(tfl::field(tfl::conv2d_options::padding), padding, -1);
        b_.AddElement<int32_t>(tfl::field(tfl::conv2d_options::stride_w), n.stride_w, 0);
        b_.AddElement<int32_t>(tfl::field(tfl::conv2d_options::stride_h), n.stride_h, 0);
        b_.AddElement<int8_t>(tfl::field(tfl::conv2d_options::fused_activation), tfl_activation(n), -1);
        b_.AddElement<int32_t>(tfl::field(tfl::conv2d_options::dilation_w), n.dilation_w, 0);
        b_.AddElement<int32_t>(tfl::field(tfl::conv2d_options::dilation_h), n.dilation_h, 0);
        add_op(tfl::kConv2D, 3, {ins[0], w, bias}, outs, tfl::kConv2DOptions, Offset<void>(b_.EndTable(s)));
        break;
      }
      case OpKind::DepthwiseConv2D: {
        auto [w, bias] = layer_tensors(i);
        auto s = b_.StartTable();
        b_.AddElement<int8_t>(tfl::field(tfl::depthwise_options::padding), padding, -1);
        b_.AddElement<int32_t>(tfl::field(tfl::depthwise_options::stride_w), n.stride_w, 0);
        b_.AddElement<int32_t>(tfl::field(tfl::depthwise_options::stride_h), n.stride_h, 0);
        b_.AddElement<int32_t>(tfl::field(tfl::depthwise_options::depth_multiplier), n.depth_multiplier, 0);
        b_.AddElement<int8_t>(tfl::field(tfl::depthwise_options::fused_activation), tfl_activation(n), -1);
        b_.AddElement<int32_t>(tfl::field(tfl::depthwise_options::dilation_w), n.dilation_w, 0);
        b_.AddElement<int32_t>(tfl::field(tfl::depthwise_options::dilation_h), n.dilation_h, 0);
        add_op(tfl::kDepthwiseConv2D, 3, {ins[0], w, bias}, outs, tfl::kDepthwiseConv2DOptions,
               Offset<void>(b_.EndTable(s)));
        break;
      }
      case OpKind::Dense: {
        auto [w, bias] = layer_tensors(i);
        auto s = b_.StartTable();
        b_.AddElement<int8_t>(tfl::field(tfl::fully_connected_options::fused_activation), tfl_activation(n), -1);
        add_op(tfl::kFullyConnected, 4, {ins[0], w, bias}, outs, tfl::kFullyConnectedOptions,
               Offset<void>(b_.EndTable(s)));
        break;
      }
      case OpKind::MaxPool:
      case OpKind::AvgPool:
        add_op(n.kind == OpKind::MaxPool ? tfl::kMaxPool2D : tfl::kAveragePool2D, 2, ins, outs, tfl::kPool2DOptions,
               pool_options(padding, n.stride_h, n.stride_w, n.kernel_h, n.kernel_w));
        break;
      case OpKind::GlobalAvgPool:  // an average pool over the whole map: the integer reference's arithmetic
        add_op(tfl::kAveragePool2D, 2, ins, outs, tfl::kPool2DOptions,
               pool_options(tfl::kValid, is.h, is.w, is.h, is.w));
        break;
      case OpKind::Add: {
        if (n.inputs.size() != 2) unsupported(n, "an add of " + std::to_string(n.inputs.size()) + " inputs");
        auto s = b_.StartTable();
        b_.AddElement<int8_t>(tfl::field(tfl::add_options::fused_activation), tfl_activation(n), -1);
        add_op(tfl::kAdd, 2, ins, outs, tfl::kAddOptions, Offset<void>(b_.EndTable(s)));
        break;
      }
      case OpKind::Concat: {
        for (int in : n.inputs)
          if (is_flat_value(g_, in)) unsupported(n, "a concatenation of flat vectors");
        auto s = b_.StartTable();
        b_.AddElement<int32_t>(tfl::field(tfl::concatenation_options::axis), 3, -1);
        b_.AddElement<int8_t>(tfl::field(tfl::concatenation_options::fused_activation), tfl_activation(n), -1);
        add_op(tfl::kConcatenation, 2, ins, outs, tfl::kConcatenationOptions, Offset<void>(b_.EndTable(s)));
        break;
      }
      case OpKind::ReLU:
        add_op(tfl::kRelu, 2, ins, outs);
        break;
      case OpKind::ReLU6:
        add_op(tfl::kRelu6, 2, ins, outs);
        break;
      case OpKind::Flatten: {
        std::vector<int32_t> shape = shape_of(i);
        int st = const_tensor(n.name + ".shape", {int32_t(shape.size())}, tfl::kInt32, shape.data(),
                              shape.size() * sizeof(int32_t), Offset<void>());
        auto ns = b_.CreateVector(shape);
        auto s = b_.StartTable();
        b_.AddOffset(tfl::field(tfl::reshape_options::new_shape), ns);
        add_op(tfl::kReshape, 1, {ins[0], st}, outs, tfl::kReshapeOptions, Offset<void>(b_.EndTable(s)));
        break;
      }
      case OpKind::Softmax: {
        if (!is_flat_value(g_, n.inputs[0]) && is.h * is.w > 1)
          unsupported(n, "a softmax over a " + is.str() + " map (TFLite normalises each pixel; flatten first)");
        auto s = b_.StartTable();
        b_.AddElement<float>(tfl::field(tfl::softmax_options::beta), 1.0f, 0.0f);
        add_op(tfl::kSoftmax, 2, ins, outs, tfl::kSoftmaxOptions, Offset<void>(b_.EndTable(s)));
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
  }

  std::string finish(const std::vector<int32_t>& inputs, const std::vector<int32_t>& outputs) {
    auto t = b_.CreateVector(tensors_);
    auto vi = b_.CreateVector(inputs);
    auto vo = b_.CreateVector(outputs);
    auto ops = b_.CreateVector(operators_);
    auto name = b_.CreateString(g_.name.empty() ? "main" : g_.name);
    auto s = b_.StartTable();
    b_.AddOffset(tfl::field(tfl::subgraph::tensors), t);
    b_.AddOffset(tfl::field(tfl::subgraph::inputs), vi);
    b_.AddOffset(tfl::field(tfl::subgraph::outputs), vo);
    b_.AddOffset(tfl::field(tfl::subgraph::operators), ops);
    b_.AddOffset(tfl::field(tfl::subgraph::name), name);
    std::vector<Offset<void>> subgraphs{Offset<void>(b_.EndTable(s))};
    auto codes = b_.CreateVector(opcodes_);
    auto sgs = b_.CreateVector(subgraphs);
    auto desc = b_.CreateString(opt_.description.empty() ? "mcuprune" : opt_.description);
    auto bufs = b_.CreateVector(buffers_);
    auto m = b_.StartTable();
    b_.AddElement<uint32_t>(tfl::field(tfl::model::version), tfl::kSchemaVersion, 0);
    b_.AddOffset(tfl::field(tfl::model::operator_codes), codes);
    b_.AddOffset(tfl::field(tfl::model::subgraphs), sgs);
    b_.AddOffset(tfl::field(tfl::model::description), desc);
    b_.AddOffset(tfl::field(tfl::model::buffers), bufs);
    b_.Finish(Offset<void>(b_.EndTable(m)), tfl::kFileIdentifier);
    return std::string(reinterpret_cast<const char*>(b_.GetBufferPointer()), b_.GetSize());
  }
};

}  // namespace

std::string export_tflite(const QuantizedModel& q, const TfliteOptions& opt) {
  if (q.graph.front_end() >= 0) {  // the .tflite takes the features; the application computes them
    TfliteOptions o = opt;
    o.order.clear();
    for (int i : opt.order)
      if (i != q.graph.front_end()) o.order.push_back(index_without_front_end(q.graph, i));
    return export_tflite(without_front_end(q), o);
  }
  if (q.activations.size() != q.graph.nodes.size())
    throw std::invalid_argument("export_tflite: quantisation parameters do not match the graph");
  return Writer(q, opt).run();
}

}  // namespace mcuprune
