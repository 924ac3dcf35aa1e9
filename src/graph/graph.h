// The network IR: a single-input, single-output DAG of CNN operators stored in a
// topological order, with per-sample tensor shapes in H x W x C (batch implicit).
// Layout conventions are documented in docs/model-format.md. No LibTorch here.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

namespace mcuprune {

// An error caused by the user's input (model file, dataset, option). The CLI prints
// what() on one line and exits non-zero; messages say what, where and what to do.
struct UserError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class OpKind {
  Input,
  Conv2D,
  DepthwiseConv2D,
  Dense,
  BatchNorm,
  ReLU,
  ReLU6,
  MaxPool,
  AvgPool,
  GlobalAvgPool,
  Add,
  Concat,
  Flatten,
  Dropout,
  Softmax,
  Mfcc,  // the keyword-spotting front end: raw audio (1 x samples x 1, int16) -> MFCC features
};

enum class Padding { Valid, Same, Explicit };
enum class Activation { None, ReLU, ReLU6 };

const char* op_kind_name(OpKind kind);      // "conv2d", "depthwise_conv2d", ...
OpKind op_kind_from_name(const std::string& name);  // throws UserError listing the kinds
const std::vector<OpKind>& all_op_kinds();
const char* padding_name(Padding p);
const char* activation_name(Activation a);

// Per-sample tensor shape, height x width x channels. Dense/Flatten outputs are 1 x 1 x N.
struct Shape {
  int h = 0, w = 0, c = 0;
  int64_t elements() const { return int64_t(h) * w * c; }
  bool operator==(const Shape& o) const { return h == o.h && w == o.w && c == o.c; }
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::string str() const;  // "28x28x1"
};

// The MFCC front end's parameters (an Mfcc node's; the host computes it in data/mfcc.h, the
// device in runtime/kernels/mfcc.h). The defaults are MLPerf Tiny's KWS front end.
struct MfccParams {
  int sample_rate = 16000;     // Hz (Speech Commands)
  int clip_samples = 16000;    // 1 s clips (clip_duration_ms 1000)
  int window = 480;            // 30 ms (window_size_ms 30)
  int stride = 320;            // 20 ms (window_stride_ms 20)
  int fft = 512;               // tf.signal.stft's fft_length=None: next power of 2 >= window
  int mel_bins = 40;           // num_mel_bins
  double lower_hz = 20.0;      // lower_edge_hertz
  double upper_hz = 4000.0;    // upper_edge_hertz
  int coefficients = 10;       // dct_coefficient_count
  double log_offset = 1e-6;    // log(mel + 1e-6)

  int frames() const { return 1 + (clip_samples - window) / stride; }  // 49
  int bins() const { return fft / 2 + 1; }                             // 257
  // Throws UserError when a value is out of range (window > fft, upper_hz > Nyquist, ...).
  void check() const;
  // A stable text form of every parameter: part of the feature cache's key.
  std::string key() const;
  bool operator==(const MfccParams& o) const { return key() == o.key(); }
};

struct Node {
  std::string name;
  OpKind kind = OpKind::Input;
  std::vector<int> inputs;  // indices of earlier nodes

  // Conv2D / Dense: number of output channels (units). DepthwiseConv2D: channel multiplier.
  int out_channels = 0;
  int depth_multiplier = 1;
  // Convolutions and pools.
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;  // convolutions only
  Padding padding = Padding::Valid;
  int pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;  // Padding::Explicit
  bool use_bias = true;                                          // Conv2D, Depthwise, Dense
  Activation activation = Activation::None;                      // fused, conv/dense/add
  float bn_epsilon = 1e-5f;                                      // BatchNorm
  float dropout_rate = 0.0f;                                     // Dropout
  MfccParams mfcc;                                               // Mfcc

  Shape out;  // filled in by infer_shapes()
};

// Padding actually applied on each side, for an input of the given size.
struct PadAmounts {
  int top = 0, bottom = 0, left = 0, right = 0;
};

// Preprocessing the model expects: x = (pixel / 255 - mean[c]) / stddev[c].
struct InputNormalization {
  std::vector<float> mean, stddev;  // per input channel; empty = none
  bool empty() const { return mean.empty(); }
};

// The ONNX interface of an imported model: its input and output names and the input's
// layout, kept so that an export of the (pruned) model can be swapped in for the original.
struct OnnxInterface {
  std::string input, output;  // empty: not imported ("input" and the output node's name)
  bool input_nhwc = false;    // the original input was [N, H, W, C] (a transpose followed)
  bool empty() const { return input.empty(); }
};

class Graph {
 public:
  // Explicit limits, checked by infer_shapes (all arithmetic on them fits in 64 bits, and every
  // tensor index in 32): nodes; input height/width/channels and conv output channels / units;
  // kernel, stride, dilation, padding and depth multiplier; elements of any tensor.
  static constexpr int kMaxNodes = 10000;
  static constexpr int kMaxDim = 65535;
  static constexpr int kMaxWindow = 1024;
  static constexpr int64_t kMaxElements = (int64_t(1) << 31) - 1;

  std::string name;
  OnnxInterface onnx_io;                 // optional, saved with the model
  InputNormalization normalization;     // optional, saved with the model
  std::vector<std::string> class_names;  // optional, saved with the model
  std::vector<Node> nodes;  // topological order; nodes[0] is the Input
  int output = -1;          // index of the output node (default: last node)

  const Shape& input_shape() const;
  // The audio front end: the index of the Mfcc node (always node 1, the input's only
  // consumer), or -1. Datasets hold the features it computes: training, evaluation and the
  // int8 reference start from its output (the node passes its input through on the host).
  int front_end() const;
  // The shape of what a dataset sample holds: the front end's output, else the input.
  const Shape& feature_shape() const;
  const Shape& output_shape() const;
  // Commands that score a dataset (train, eval, prune, quantize, deploy) need one score per
  // class: throws UserError when the output is a spatial map (h or w > 1), saying what to add.
  void check_classifier_output() const;
  int find(const std::string& node_name) const;  // -1 if absent
  // Indices of nodes that consume node i, in order.
  std::vector<std::vector<int>> consumers() const;

  // Checks structure (names unique, inputs earlier, arity) and computes every
  // node's output shape. Throws UserError naming the node and the mismatch.
  void infer_shapes();
  // The same checks and shape for node i alone (nodes before it already inferred), except
  // name uniqueness: what GraphBuilder::append runs for each new node, in O(1) per node.
  void infer_node(size_t i);

  // Effective padding of a conv/pool node given its input shape (TF "same" rule:
  // out = ceil(in / stride), the odd pixel of padding goes to the bottom/right).
  static PadAmounts pad_amounts(const Node& n, const Shape& in);
};

// Builder used by the model zoo and tests: appends nodes, names them, infers shapes.
class GraphBuilder {
 public:
  explicit GraphBuilder(std::string graph_name, Shape input);
  int input() const { return 0; }
  int conv(int x, int out_channels, int kernel, int stride = 1, Padding pad = Padding::Same,
           const std::string& name = "", bool bias = true);
  int conv_hw(int x, int out_channels, int kh, int kw, int sh, int sw, Padding pad,
              const std::string& name = "", bool bias = true);
  int depthwise(int x, int kernel, int stride = 1, Padding pad = Padding::Same,
                const std::string& name = "", bool bias = true);
  int dense(int x, int units, const std::string& name = "", bool bias = true);
  int batchnorm(int x, const std::string& name = "");
  int relu(int x, const std::string& name = "");
  int relu6(int x, const std::string& name = "");
  int maxpool(int x, int kernel, int stride, Padding pad = Padding::Valid,
              const std::string& name = "");
  int avgpool(int x, int kernel, int stride, Padding pad = Padding::Valid,
              const std::string& name = "");
  int global_avgpool(int x, const std::string& name = "");
  int add(const std::vector<int>& xs, const std::string& name = "");
  int concat(const std::vector<int>& xs, const std::string& name = "");
  int flatten(int x, const std::string& name = "");
  int dropout(int x, float rate, const std::string& name = "");
  int softmax(int x, const std::string& name = "");
  // Appends a fully specified node (shape inferred on the spot).
  int append(Node n);
  // The MFCC front end on the input (which must be 1 x clip_samples x 1).
  int mfcc(int x, const MfccParams& p, const std::string& name = "mfcc");
  const Shape& shape(int x) const { return g_.nodes.at(x).out; }
  Graph finish();  // output = last node

 private:
  std::string auto_name(OpKind kind, const std::string& given);
  Graph g_;
  std::vector<int> counters_;
  std::unordered_set<std::string> names_;  // taken node names (append checks one node at a time)
};

// The graph without its audio front end: the input node takes the front end's output shape
// and the Mfcc node is removed (later indices shift down by one). What the TFLite and ONNX
// exports write: the application computes the features. A graph without one is returned as is.
Graph without_front_end(const Graph& g);
// The graph with an MFCC front end before it: a new input (1 x clip_samples x 1 raw audio)
// and an Mfcc node named "mfcc" whose features must have the graph's input shape.
Graph with_front_end(const Graph& g, const MfccParams& p);
// Node indices of `g` mapped to those of without_front_end(g) (the front end maps to the input).
int index_without_front_end(const Graph& g, int i);

// Nodes (other than the input) whose value never reaches the output node: a model file with
// such nodes is refused (they would be counted in resources but never run).
std::vector<int> nodes_not_reaching_output(const Graph& g);

// Parameter counts of one node: learnable weights of the deployed (BN-folded) model,
// and BatchNorm's 4 per channel (gamma, beta, running mean, running variance).
int64_t node_weight_params(const Graph& g, int i);  // weights + biases (conv/dense)
int64_t node_bn_params(const Graph& g, int i);      // 4 * C for BatchNorm, else 0
int64_t graph_params(const Graph& g);               // sum of node_weight_params
int64_t graph_params_with_bn(const Graph& g);       // + BatchNorm parameters and stats

}  // namespace mcuprune
