// A trainable LibTorch network built from an IR graph. Its forward follows the IR's
// semantics exactly (TF-style "same" padding, HWC flatten order, average pools that
// exclude padding), so the weights it learns mean the same thing in every exporter.
#pragma once

#include <torch/torch.h>

#include "graph/channel_groups.h"
#include "graph/graph.h"
#include "graph/weights.h"

namespace mcuprune {

struct NetImpl : torch::nn::Module {
  // pad_to > 1: every prunable channel group (graph/channel_groups.h) whose width is not a
  // multiple of pad_to is trained with zero channels added up to the next multiple. LibTorch's
  // CPU convolutions run up to several times faster at such widths (bench/results/width_speed.md).
  // The added channels have zero weights in and out, so they are zero in every forward pass,
  // their gradients are zero and they stay zero under SGD, Adam and weight decay: the network
  // computes the same function as the exact one. Everything outside sees the exact graph:
  // graph(), weight_map() and load_weight_map() are in its shapes.
  explicit NetImpl(const Graph& g, int pad_to = 1);

  // x: [N, C, H, W] float. Returns the graph output as [N, classes]. When `logits` is
  // true and the output node is a softmax, its input is returned instead (for the loss).
  torch::Tensor forward(const torch::Tensor& x, bool logits = true);

  // Copies weights in/out by IR name ("conv1.weight", "conv1_bn.running_mean", ...).
  void load_weight_map(const WeightMap& w, const std::string& where);
  WeightMap weight_map() const;

  const Graph& graph() const { return logical_; }
  // The memory layout of the activations: channels-last (NHWC) on the CPU when every
  // spatial tensor of the trained graph (its padded widths) has a multiple of 8 channels,
  // else NCHW. LibTorch's oneDNN convolutions run faster channels-last at such widths (1.22x
  // to 1.66x a training step of the zoo's models, bench/results/layout_speed.md) and 2 to 3
  // times slower at other widths, where NCHW has no such penalty. forward() lays its input
  // out so (lay_out), whatever strides it comes with (a one-channel batch fits both layouts,
  // and LibTorch would otherwise read it as channels-last). Other devices get NCHW.
  bool channels_last() const { return channels_last_; }
  // The layout in words, for reports: "channels-last" or "NCHW".
  std::string layout() const { return channels_last_ ? "channels-last" : "NCHW"; }
  // Overrides the rule (for benchmarks that compare the layouts).
  void set_channels_last(bool on) { channels_last_ = on; }
  // x ([N, C, H, W]) with the strides of layout(); x itself where they match already, or where
  // the graph has no spatial tensor to lay out (a dense network).
  torch::Tensor lay_out(const torch::Tensor& x) const;
  // Channels added by pad_to over all padded groups (0: the net is the exact graph).
  int64_t padding_channels() const { return padding_channels_; }
  // A tensor shaped like parameter `ir_name` of the padded net (e.g. an optimizer's moment
  // buffer) in the exact graph's shape, and back (the added channels get zeros).
  WeightTensor to_exact(const std::string& ir_name, const torch::Tensor& padded) const;
  torch::Tensor to_padded(const std::string& ir_name, const WeightTensor& exact) const;

  // Channel gates for pruning: masks[g] (a [C_g] tensor, or undefined for no gate)
  // multiplies group g's channels where conv/dense layers read them, i.e. exactly where
  // surgery would remove them. `groups` must describe this net's graph. clear_gates()
  // turns gating off. With `straight_through` the forward pass is gated but the gradient
  // reaches the gated channels as if their gate were 1 (pruning with feedback: the
  // gradient of the masked model is applied to the dense weights).
  void set_gates(const ChannelGroups& groups, std::vector<torch::Tensor> masks, bool straight_through = false);
  void clear_gates();
  // Multiplies each gated weight (the input channels of a Conv2D or Dense, as the forward
  // pass gates them) by its current gate value, without autograd, so that the net without
  // gates computes what it computes with them. Nothing to do without gates.
  void fold_gates();

  // Quantisation-aware training: with fake quantisation on, the forward pass rounds what
  // the int8 model rounds (src/quant/quantize.h): conv and depthwise weights per output
  // channel and dense weights per tensor, symmetric to [-127, 127]; every node output that
  // gets its own int8 parameters (the input, conv/dense/add/concat outputs), per tensor and
  // asymmetric over a range that always includes 0. Gradients pass straight through inside
  // the range and are zero outside it. Activation ranges are running min/max estimates
  // (exponential average of each training batch's extremes, the first batch taken as is) and
  // are frozen in eval mode. Meant for a folded graph (quant/fold.h), whose nodes are the
  // int8 model's operators.
  void set_fake_quant(bool on);
  // Sets node i's activation range to [lo[i], hi[i]] (e.g. from post-training calibration),
  // as if observed; an empty range (lo == hi) leaves node i to be observed.
  void set_fake_quant_ranges(const std::vector<double>& lo, const std::vector<double>& hi);
  bool fake_quant() const { return fake_quant_; }

 private:
  Graph logical_;  // the graph as given
  Graph graph_;    // the graph the modules are built from (logical_ with padded widths)
  torch::Device device_{torch::kCPU};  // the process's device (nn/device.h) when built
  int64_t padding_channels_ = 0;
  bool channels_last_ = false;
  bool spatial_ = false;  // some tensor the layout applies to (past the input, more than one pixel)
  // For padded nets: per parameter or buffer (IR name), each exact element's flat index in
  // the padded tensor; per gated consumer node, each exact input feature's padded index.
  struct PaddedParam {
    std::vector<int64_t> exact_shape, padded_shape;
    torch::Tensor index;  // int64, one entry per exact element
  };
  std::map<std::string, PaddedParam> padded_index_;
  std::map<int, torch::Tensor> gate_index_;
  std::map<int, int64_t> padded_inputs_;
  void build_padding(int pad_to);
  // Per node; null for nodes of another kind.
  std::vector<torch::nn::Conv2d> convs_;
  std::vector<torch::nn::Linear> linears_;
  std::vector<torch::nn::BatchNorm2d> bns_;
  std::vector<int> last_use_;                  // last consumer of each node's output
  ChannelGroups gate_groups_;
  std::vector<torch::Tensor> gate_masks_;
  bool gate_straight_through_ = false;
  torch::Tensor apply_gate(const torch::Tensor& t, const torch::Tensor& gate) const;
  torch::Tensor gate_vector(int node);  // per input channel of a gated consumer, or undefined
  std::vector<torch::Tensor> node_params(int i) const;
  bool fake_quant_ = false;
  std::vector<double> act_lo_, act_hi_;  // per node: fake-quantisation range
  std::vector<bool> act_seen_;
  torch::Tensor fake_quant_weight(const torch::Tensor& w, bool per_channel) const;
  torch::Tensor fake_quant_output(int node, const torch::Tensor& y);
};
TORCH_MODULE(Net);

// Whether a net of graph `g` (its trained widths) runs channels-last on the CPU: every
// spatial tensor but the input has a multiple of 8 channels (NetImpl::channels_last()).
bool prefers_channels_last(const Graph& g);

// The IR name of a parameter or buffer of a Net built from `g` ("node3.weight" ->
// "conv1.weight", a BatchNorm's "weight"/"bias" -> "gamma"/"beta").
std::string ir_param_name(const Graph& g, const std::string& torch_name);

}  // namespace mcuprune
