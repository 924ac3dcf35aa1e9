// Graph IR: op names, structural checks, shape inference and parameter counts.
#include "graph/graph.h"

#include <cstdio>

#include <algorithm>
#include <sstream>
#include <unordered_set>

namespace mcuprune {

namespace {

struct OpInfo {
  OpKind kind;
  const char* name;
  int min_inputs, max_inputs;  // arity; -1 = any number >= min
};

const OpInfo kOps[] = {
    {OpKind::Input, "input", 0, 0},
    {OpKind::Conv2D, "conv2d", 1, 1},
    {OpKind::DepthwiseConv2D, "depthwise_conv2d", 1, 1},
    {OpKind::Dense, "dense", 1, 1},
    {OpKind::BatchNorm, "batchnorm", 1, 1},
    {OpKind::ReLU, "relu", 1, 1},
    {OpKind::ReLU6, "relu6", 1, 1},
    {OpKind::MaxPool, "maxpool", 1, 1},
    {OpKind::AvgPool, "avgpool", 1, 1},
    {OpKind::GlobalAvgPool, "global_avgpool", 1, 1},
    {OpKind::Add, "add", 2, -1},
    {OpKind::Concat, "concat", 2, -1},
    {OpKind::Flatten, "flatten", 1, 1},
    {OpKind::Dropout, "dropout", 1, 1},
    {OpKind::Softmax, "softmax", 1, 1},
    {OpKind::Mfcc, "mfcc", 1, 1},
};

const OpInfo& info(OpKind k) {
  for (const auto& o : kOps)
    if (o.kind == k) return o;
  throw std::logic_error("unknown OpKind");
}

std::string fail_prefix(const Node& n) { return n.name + " (" + op_kind_name(n.kind) + "): "; }

// Output size along one axis for a conv/pool window.
int window_out(int in, int k_eff, int stride, int pad_total) {
  return (in + pad_total - k_eff) / stride + 1;
}

bool is_windowed(OpKind k) {
  return k == OpKind::Conv2D || k == OpKind::DepthwiseConv2D || k == OpKind::MaxPool ||
         k == OpKind::AvgPool;
}

}  // namespace

const char* op_kind_name(OpKind kind) { return info(kind).name; }

OpKind op_kind_from_name(const std::string& name) {
  for (const auto& o : kOps)
    if (name == o.name) return o.kind;
  std::string known;
  for (const auto& o : kOps) known += std::string(known.empty() ? "" : ", ") + o.name;
  throw UserError("unknown operator '" + name + "'; known operators: " + known);
}

const std::vector<OpKind>& all_op_kinds() {
  static const std::vector<OpKind> kinds = [] {
    std::vector<OpKind> v;
    for (const auto& o : kOps) v.push_back(o.kind);
    return v;
  }();
  return kinds;
}

const char* padding_name(Padding p) {
  switch (p) {
    case Padding::Valid: return "valid";
    case Padding::Same: return "same";
    case Padding::Explicit: return "explicit";
  }
  return "?";
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::None: return "none";
    case Activation::ReLU: return "relu";
    case Activation::ReLU6: return "relu6";
  }
  return "?";
}

std::string Shape::str() const {
  std::ostringstream s;
  s << h << "x" << w << "x" << c;
  return s.str();
}

const Shape& Graph::input_shape() const {
  if (nodes.empty()) throw UserError("graph '" + name + "' has no nodes");
  return nodes[0].out;
}

const Shape& Graph::output_shape() const {
  if (output < 0 || output >= int(nodes.size()))
    throw UserError("graph '" + name + "' has no valid output node");
  return nodes[output].out;
}

void Graph::check_classifier_output() const {
  const Shape& out = output_shape();
  if (out.h == 1 && out.w == 1) return;
  throw UserError("model '" + name + "' ends in '" + nodes[size_t(output)].name + "', a " + out.str() +
                  " map; a classifier ends in one score per class (1x1x" + std::to_string(out.c) +
                  "): add a global average pool, or a flatten and a dense layer, after it");
}

int Graph::find(const std::string& node_name) const {
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].name == node_name) return int(i);
  return -1;
}

std::vector<std::vector<int>> Graph::consumers() const {
  std::vector<std::vector<int>> c(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i)
    for (int in : nodes[i].inputs) c[in].push_back(int(i));
  return c;
}

PadAmounts Graph::pad_amounts(const Node& n, const Shape& in) {
  PadAmounts p;
  if (n.padding == Padding::Explicit) {
    p.top = n.pad_top, p.bottom = n.pad_bottom, p.left = n.pad_left, p.right = n.pad_right;
  } else if (n.padding == Padding::Same) {
    bool conv = n.kind == OpKind::Conv2D || n.kind == OpKind::DepthwiseConv2D;
    int keh = (n.kernel_h - 1) * (conv ? n.dilation_h : 1) + 1;
    int kew = (n.kernel_w - 1) * (conv ? n.dilation_w : 1) + 1;
    int out_h = (in.h + n.stride_h - 1) / n.stride_h;
    int out_w = (in.w + n.stride_w - 1) / n.stride_w;
    int th = std::max((out_h - 1) * n.stride_h + keh - in.h, 0);
    int tw = std::max((out_w - 1) * n.stride_w + kew - in.w, 0);
    p.top = th / 2, p.bottom = th - th / 2, p.left = tw / 2, p.right = tw - tw / 2;
  }
  return p;
}

void Graph::infer_node(size_t i) {
  Node& n = nodes[i];
  const OpInfo& oi = info(n.kind);
  const std::string where = fail_prefix(n);
  int nin = int(n.inputs.size());
  if (nin < oi.min_inputs || (oi.max_inputs >= 0 && nin > oi.max_inputs)) {
    std::string want = oi.max_inputs == oi.min_inputs
                           ? std::to_string(oi.min_inputs)
                           : "at least " + std::to_string(oi.min_inputs);
    throw UserError(where + "expects " + want + " input(s), got " + std::to_string(nin));
  }
  if (i > 0 && n.kind == OpKind::Input)
    throw UserError(where + "only the first node may be an input");
  for (int in : n.inputs)
    if (in < 0 || in >= int(i))
      throw UserError(where + "input index " + std::to_string(in) +
                      " does not refer to an earlier node (nodes must be in topological order)");
  if (n.kind == OpKind::Input) {
    if (n.out.h < 1 || n.out.w < 1 || n.out.c < 1)
      throw UserError(where + "input shape " + n.out.str() + " must be positive");
    if (n.out.h > kMaxDim || n.out.w > kMaxDim || n.out.c > kMaxDim)
      throw UserError(where + "input shape " + n.out.str() + " is too large: height, width and channels go up to " +
                      std::to_string(kMaxDim));
    if (n.out.elements() > kMaxElements)
      throw UserError(where + "input shape " + n.out.str() + " has " + std::to_string(n.out.elements()) +
                      " elements; tensors go up to " + std::to_string(kMaxElements));
    return;
  }
  const Shape in = nodes[n.inputs[0]].out;
  auto positive = [&](int v, const char* what, int limit = kMaxWindow) {
    if (v < 1) throw UserError(where + what + " must be >= 1, got " + std::to_string(v));
    if (v > limit) throw UserError(where + what + " " + std::to_string(v) + " is too large (at most " + std::to_string(limit) + ")");
  };
  if (is_windowed(n.kind)) {
    positive(n.kernel_h, "kernel height");
    positive(n.kernel_w, "kernel width");
    positive(n.stride_h, "stride height");
    positive(n.stride_w, "stride width");
    positive(n.dilation_h, "dilation height");
    positive(n.dilation_w, "dilation width");
    if (n.padding == Padding::Explicit &&
        (std::min({n.pad_top, n.pad_bottom, n.pad_left, n.pad_right}) < 0 ||
         std::max({n.pad_top, n.pad_bottom, n.pad_left, n.pad_right}) > kMaxWindow))
      throw UserError(where + "explicit padding must be in [0, " + std::to_string(kMaxWindow) + "]");
  }
  switch (n.kind) {
    case OpKind::Conv2D:
    case OpKind::DepthwiseConv2D:
    case OpKind::MaxPool:
    case OpKind::AvgPool: {
      bool conv = n.kind == OpKind::Conv2D || n.kind == OpKind::DepthwiseConv2D;
      if (!conv && (n.dilation_h != 1 || n.dilation_w != 1))
        throw UserError(where + "pools do not support dilation");
      int keh = (n.kernel_h - 1) * n.dilation_h + 1;
      int kew = (n.kernel_w - 1) * n.dilation_w + 1;
      PadAmounts p = pad_amounts(n, in);
      // A pool window that lies wholly in the padding has no value to take (a max of -inf, an
      // average of nothing): each side's padding must be smaller than the window.
      if (!conv && (std::max(p.top, p.bottom) >= keh || std::max(p.left, p.right) >= kew))
        throw UserError(where + "padding (top " + std::to_string(p.top) + ", bottom " + std::to_string(p.bottom) +
                        ", left " + std::to_string(p.left) + ", right " + std::to_string(p.right) +
                        ") must be smaller than the " + std::to_string(n.kernel_h) + "x" + std::to_string(n.kernel_w) +
                        " pool window on every side, or some windows hold only padding");
      int oh = window_out(in.h, keh, n.stride_h, p.top + p.bottom);
      int ow = window_out(in.w, kew, n.stride_w, p.left + p.right);
      if (in.h + p.top + p.bottom < keh || in.w + p.left + p.right < kew || oh < 1 || ow < 1)
        throw UserError(where + "kernel " + std::to_string(n.kernel_h) + "x" +
                        std::to_string(n.kernel_w) + " does not fit input " + in.str() +
                        " with " + padding_name(n.padding) + " padding");
      if (n.kind == OpKind::Conv2D) {
        positive(n.out_channels, "out_channels", kMaxDim);
        n.out = {oh, ow, n.out_channels};
      } else if (n.kind == OpKind::DepthwiseConv2D) {
        positive(n.depth_multiplier, "depth_multiplier");
        if (int64_t(in.c) * n.depth_multiplier > kMaxDim)
          throw UserError(where + "channels x depth_multiplier is above " + std::to_string(kMaxDim));
        n.out = {oh, ow, in.c * n.depth_multiplier};
      } else {
        n.out = {oh, ow, in.c};
      }
      break;
    }
    case OpKind::Dense:
      positive(n.out_channels, "units", kMaxDim);
      if (in.h != 1 || in.w != 1)
        throw UserError(where + "expects a flat input (1x1xN), got " + in.str() +
                        "; insert a flatten or global_avgpool before it");
      n.out = {1, 1, n.out_channels};
      break;
    case OpKind::BatchNorm:
      if (!(n.bn_epsilon > 0)) throw UserError(where + "epsilon must be > 0");
      n.out = in;
      break;
    case OpKind::ReLU:
    case OpKind::ReLU6:
    case OpKind::Softmax:
      n.out = in;
      break;
    case OpKind::Dropout:
      if (!(n.dropout_rate >= 0 && n.dropout_rate < 1))
        throw UserError(where + "rate must be in [0, 1), got " + std::to_string(n.dropout_rate));
      n.out = in;
      break;
    case OpKind::GlobalAvgPool:
      n.out = {1, 1, in.c};
      break;
    case OpKind::Flatten:
      n.out = {1, 1, int(in.elements())};
      break;
    case OpKind::Add:
      for (size_t k = 1; k < n.inputs.size(); ++k) {
        const Node& other = nodes[n.inputs[k]];
        if (other.out != in)
          throw UserError(where + "inputs must have equal shapes: '" +
                          nodes[n.inputs[0]].name + "' is " + in.str() + ", '" + other.name +
                          "' is " + other.out.str());
      }
      n.out = in;
      break;
    case OpKind::Concat: {
      int64_t c = 0;
      for (int idx : n.inputs) {
        const Node& other = nodes[idx];
        if (other.out.h != in.h || other.out.w != in.w)
          throw UserError(where + "inputs must have equal height and width: '" +
                          nodes[n.inputs[0]].name + "' is " + in.str() + ", '" + other.name +
                          "' is " + other.out.str());
        c += other.out.c;
      }
      if (c > kMaxElements) throw UserError(where + "too many channels (" + std::to_string(c) + ")");
      n.out = {in.h, in.w, int(c)};
      break;
    }
    case OpKind::Mfcc: {
      if (i != 1 || n.inputs[0] != 0)
        throw UserError(where + "the mfcc front end must be the second node, right after the input, and read it");
      if (in.h != 1 || in.c != 1)
        throw UserError(where + "the mfcc front end reads raw audio: the input must be 1 x samples x 1, got " + in.str());
      if (n.mfcc.clip_samples != in.w)
        throw UserError(where + "clip_samples " + std::to_string(n.mfcc.clip_samples) + " differs from the input's " +
                        std::to_string(in.w) + " samples");
      try {
        n.mfcc.check();
      } catch (const UserError& e) {
        throw UserError(where + e.what());
      }
      n.out = {n.mfcc.frames(), n.mfcc.coefficients, 1};
      break;
    }
    case OpKind::Input:
      break;
  }
  if (n.out.elements() > kMaxElements)
    throw UserError(where + "output " + n.out.str() + " has " + std::to_string(n.out.elements()) +
                    " elements; tensors go up to " + std::to_string(kMaxElements));
  if (n.activation != Activation::None && n.kind != OpKind::Conv2D &&
      n.kind != OpKind::DepthwiseConv2D && n.kind != OpKind::Dense && n.kind != OpKind::Add)
    throw UserError(where + "a fused activation is only allowed on conv2d, "
                    "depthwise_conv2d, dense and add");
}

int Graph::front_end() const {
  return nodes.size() > 1 && nodes[1].kind == OpKind::Mfcc ? 1 : -1;
}

const Shape& Graph::feature_shape() const {
  return front_end() >= 0 ? nodes[1].out : input_shape();
}

Graph without_front_end(const Graph& g) {
  if (g.front_end() < 0) return g;
  Graph r = g;
  r.nodes[0].out = g.nodes[1].out;
  r.nodes.erase(r.nodes.begin() + 1);
  for (Node& n : r.nodes)
    for (int& in : n.inputs) in = index_without_front_end(g, in);
  r.output = index_without_front_end(g, g.output);
  r.infer_shapes();
  return r;
}

Graph with_front_end(const Graph& g, const MfccParams& p) {
  if (g.front_end() >= 0) throw UserError("model '" + g.name + "' has an audio front end already");
  const Shape want{p.frames(), p.coefficients, 1};
  if (g.input_shape() != want)
    throw UserError("model '" + g.name + "' takes " + g.input_shape().str() + " inputs but the MFCC front end gives " +
                    want.str() + "; build it with --input " + want.str());
  if (g.find("mfcc") >= 0) throw UserError("model '" + g.name + "' has a node named 'mfcc' already");
  Graph r = g;
  Node fe;
  fe.name = "mfcc";
  fe.kind = OpKind::Mfcc;
  fe.inputs = {0};
  fe.mfcc = p;
  r.nodes[0].out = {1, p.clip_samples, 1};
  for (Node& n : r.nodes)
    for (int& in : n.inputs) in = in + 1;
  r.nodes.insert(r.nodes.begin() + 1, fe);
  r.nodes[1].inputs = {0};
  r.output = g.output + 1;
  r.infer_shapes();
  return r;
}

int index_without_front_end(const Graph& g, int i) {
  if (g.front_end() < 0) return i;
  return i <= 1 ? 0 : i - 1;
}

void MfccParams::check() const {
  auto bad = [](const std::string& what) {
    throw UserError("MFCC front end: " + what + " (the defaults are MLPerf Tiny's: 16000 Hz, 1 s clips, "
                    "480-sample window, 320 stride, 512-point FFT, 40 mel bands from 20 to 4000 Hz, "
                    "10 coefficients)");
  };
  if (sample_rate < 1000 || sample_rate > 192000) bad("sample rate " + std::to_string(sample_rate) + " Hz is out of range");
  if (clip_samples < 16 || clip_samples > 1 << 20) bad("clip length " + std::to_string(clip_samples) + " is out of range");
  if (window < 16 || window > clip_samples) bad("window of " + std::to_string(window) + " samples must be in [16, clip length]");
  if (stride < 1) bad("stride must be >= 1");
  if (fft < window || (fft & (fft - 1)) != 0 || fft > 4096)
    bad("FFT length " + std::to_string(fft) + " must be a power of two >= the window, at most 4096");
  if (mel_bins < 1 || mel_bins > 128) bad("mel band count must be in [1, 128]");
  if (coefficients < 1 || coefficients > mel_bins) bad("coefficient count must be in [1, mel bands]");
  if (!(lower_hz >= 0 && lower_hz < upper_hz && upper_hz <= sample_rate / 2.0))
    bad("mel range must satisfy 0 <= lower < upper <= sample rate / 2");
  if (!(log_offset > 0 && log_offset < 1)) bad("log offset must be in (0, 1)");
}

std::string MfccParams::key() const {
  char buf[256];
  std::snprintf(buf, sizeof buf, "mfcc-v1 rate=%d clip=%d window=%d stride=%d fft=%d mel=%d lo=%.17g hi=%.17g coeffs=%d off=%.17g",
                sample_rate, clip_samples, window, stride, fft, mel_bins, lower_hz, upper_hz, coefficients,
                log_offset);
  return buf;
}

void Graph::infer_shapes() {
  if (nodes.empty()) throw UserError("graph '" + name + "' has no nodes");
  if (nodes.size() > size_t(kMaxNodes))
    throw UserError("graph '" + name + "' has " + std::to_string(nodes.size()) + " nodes; mcuprune handles up to " +
                    std::to_string(kMaxNodes) + " (a microcontroller model has a few hundred at most)");
  if (nodes[0].kind != OpKind::Input)
    throw UserError("graph '" + name + "': the first node ('" + nodes[0].name +
                    "') must be the input");
  std::unordered_set<std::string> names;
  for (size_t i = 0; i < nodes.size(); ++i) {
    Node& n = nodes[i];
    if (n.name.empty()) throw UserError("node #" + std::to_string(i) + " has no name");
    if (!names.insert(n.name).second)
      throw UserError("node name '" + n.name + "' is used twice; names must be unique");
    infer_node(i);
  }
  if (front_end() >= 0)
    for (size_t i = 2; i < nodes.size(); ++i)
      for (int in : nodes[i].inputs)
        if (in == 0)
          throw UserError("graph '" + name + "': node '" + nodes[i].name + "' reads the raw audio input; only the " +
                          "mfcc front end may (the network starts at its features)");
  if (output == -1) output = int(nodes.size()) - 1;
  if (output < 0 || output >= int(nodes.size()))
    throw UserError("graph '" + name + "': output index " + std::to_string(output) +
                    " is out of range");
}

std::vector<int> nodes_not_reaching_output(const Graph& g) {
  std::vector<char> live(g.nodes.size(), 0);
  std::vector<int> stack;
  if (g.output >= 0 && g.output < int(g.nodes.size())) stack.push_back(g.output);
  while (!stack.empty()) {  // iterative: graphs may be deep
    const int i = stack.back();
    stack.pop_back();
    if (live[size_t(i)]) continue;
    live[size_t(i)] = 1;
    for (int in : g.nodes[size_t(i)].inputs)
      if (in >= 0 && in < int(g.nodes.size()) && !live[size_t(in)]) stack.push_back(in);
  }
  std::vector<int> dead;
  for (size_t i = 1; i < g.nodes.size(); ++i)
    if (!live[i]) dead.push_back(int(i));
  return dead;
}

// ---------------------------------------------------------------- parameters

int64_t node_weight_params(const Graph& g, int i) {
  const Node& n = g.nodes.at(i);
  if (n.inputs.empty()) return 0;
  const Shape& in = g.nodes.at(n.inputs[0]).out;
  int64_t bias = n.use_bias ? n.out.c : 0;
  switch (n.kind) {
    case OpKind::Conv2D:
      return int64_t(n.kernel_h) * n.kernel_w * in.c * n.out_channels + bias;
    case OpKind::DepthwiseConv2D:
      return int64_t(n.kernel_h) * n.kernel_w * n.out.c + bias;
    case OpKind::Dense:
      return int64_t(in.c) * n.out_channels + bias;
    default:
      return 0;
  }
}

int64_t node_bn_params(const Graph& g, int i) {
  const Node& n = g.nodes.at(i);
  return n.kind == OpKind::BatchNorm ? 4 * int64_t(n.out.c) : 0;
}

int64_t graph_params(const Graph& g) {
  int64_t s = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) s += node_weight_params(g, int(i));
  return s;
}

int64_t graph_params_with_bn(const Graph& g) {
  int64_t s = graph_params(g);
  for (size_t i = 0; i < g.nodes.size(); ++i) s += node_bn_params(g, int(i));
  return s;
}

// ---------------------------------------------------------------- builder

GraphBuilder::GraphBuilder(std::string graph_name, Shape input)
    : counters_(all_op_kinds().size(), 0) {
  g_.name = std::move(graph_name);
  Node n;
  n.name = "input";
  n.kind = OpKind::Input;
  n.out = input;
  g_.nodes.push_back(n);
  g_.infer_shapes();
  names_.insert("input");
}

std::string GraphBuilder::auto_name(OpKind kind, const std::string& given) {
  if (!given.empty()) return given;
  int& c = counters_[size_t(kind)];
  return std::string(op_kind_name(kind)) + "_" + std::to_string(++c);
}

int GraphBuilder::mfcc(int x, const MfccParams& p, const std::string& name) {
  Node n;
  n.kind = OpKind::Mfcc;
  n.name = name;
  n.inputs = {x};
  n.mfcc = p;
  return append(n);
}

int GraphBuilder::append(Node n) {
  n.name = auto_name(n.kind, n.name);
  if (n.name.empty()) throw UserError("node #" + std::to_string(g_.nodes.size()) + " has no name");
  if (g_.nodes.size() >= size_t(Graph::kMaxNodes))
    throw UserError("graph '" + g_.name + "' has more than " + std::to_string(Graph::kMaxNodes) +
                    " nodes; mcuprune handles up to " + std::to_string(Graph::kMaxNodes) +
                    " (a microcontroller model has a few hundred at most)");
  if (!names_.insert(n.name).second)
    throw UserError("node name '" + n.name + "' is used twice; names must be unique");
  g_.nodes.push_back(std::move(n));
  g_.output = -1;
  try {
    g_.infer_node(g_.nodes.size() - 1);  // the earlier nodes are checked already
  } catch (...) {
    names_.erase(g_.nodes.back().name);
    g_.nodes.pop_back();
    throw;
  }
  return int(g_.nodes.size()) - 1;
}

int GraphBuilder::conv(int x, int out_channels, int kernel, int stride, Padding pad,
                       const std::string& name, bool bias) {
  return conv_hw(x, out_channels, kernel, kernel, stride, stride, pad, name, bias);
}

int GraphBuilder::conv_hw(int x, int out_channels, int kh, int kw, int sh, int sw, Padding pad,
                          const std::string& name, bool bias) {
  Node n;
  n.kind = OpKind::Conv2D;
  n.name = name;
  n.inputs = {x};
  n.out_channels = out_channels;
  n.kernel_h = kh, n.kernel_w = kw, n.stride_h = sh, n.stride_w = sw;
  n.padding = pad;
  n.use_bias = bias;
  return append(n);
}

int GraphBuilder::depthwise(int x, int kernel, int stride, Padding pad, const std::string& name,
                            bool bias) {
  Node n;
  n.kind = OpKind::DepthwiseConv2D;
  n.name = name;
  n.inputs = {x};
  n.kernel_h = n.kernel_w = kernel;
  n.stride_h = n.stride_w = stride;
  n.padding = pad;
  n.use_bias = bias;
  return append(n);
}

int GraphBuilder::dense(int x, int units, const std::string& name, bool bias) {
  Node n;
  n.kind = OpKind::Dense;
  n.name = name;
  n.inputs = {x};
  n.out_channels = units;
  n.use_bias = bias;
  return append(n);
}

namespace {
Node unary(OpKind k, int x, const std::string& name) {
  Node n;
  n.kind = k;
  n.name = name;
  n.inputs = {x};
  return n;
}
}  // namespace

int GraphBuilder::batchnorm(int x, const std::string& name) {
  return append(unary(OpKind::BatchNorm, x, name));
}
int GraphBuilder::relu(int x, const std::string& name) {
  return append(unary(OpKind::ReLU, x, name));
}
int GraphBuilder::relu6(int x, const std::string& name) {
  return append(unary(OpKind::ReLU6, x, name));
}
int GraphBuilder::global_avgpool(int x, const std::string& name) {
  return append(unary(OpKind::GlobalAvgPool, x, name));
}
int GraphBuilder::flatten(int x, const std::string& name) {
  return append(unary(OpKind::Flatten, x, name));
}
int GraphBuilder::softmax(int x, const std::string& name) {
  return append(unary(OpKind::Softmax, x, name));
}
int GraphBuilder::dropout(int x, float rate, const std::string& name) {
  Node n = unary(OpKind::Dropout, x, name);
  n.dropout_rate = rate;
  return append(n);
}

int GraphBuilder::maxpool(int x, int kernel, int stride, Padding pad, const std::string& name) {
  Node n = unary(OpKind::MaxPool, x, name);
  n.kernel_h = n.kernel_w = kernel;
  n.stride_h = n.stride_w = stride;
  n.padding = pad;
  return append(n);
}

int GraphBuilder::avgpool(int x, int kernel, int stride, Padding pad, const std::string& name) {
  Node n = unary(OpKind::AvgPool, x, name);
  n.kernel_h = n.kernel_w = kernel;
  n.stride_h = n.stride_w = stride;
  n.padding = pad;
  return append(n);
}

int GraphBuilder::add(const std::vector<int>& xs, const std::string& name) {
  Node n;
  n.kind = OpKind::Add;
  n.name = name;
  n.inputs = xs;
  return append(n);
}

int GraphBuilder::concat(const std::vector<int>& xs, const std::string& name) {
  Node n;
  n.kind = OpKind::Concat;
  n.name = name;
  n.inputs = xs;
  return append(n);
}

Graph GraphBuilder::finish() {
  g_.output = int(g_.nodes.size()) - 1;
  g_.infer_shapes();
  return g_;
}

}  // namespace mcuprune
