// IR -> LibTorch. Activations are NCHW tensors (laid out channels-last in memory where the
// widths favour it: NetImpl::channels_last()); IR semantics that differ
// from PyTorch's defaults (asymmetric "same" padding, HWC flatten, pools) are handled
// here explicitly.
#include "nn/net.h"

#include "nn/dist_ops.h"
#include "nn/train_internal.h"

#include <algorithm>
#include <cstdlib>
#include <limits>

namespace mcuprune {

namespace {

// BatchNorm over the global batch of a data-parallel step (dist.h): the mean and variance of
// every worker's samples together, as one process with the whole batch computes them, with
// their gradients reaching every worker; the running statistics updated the same way. One
// all-reduce forward (and so one backward) per layer: collectives cost about a millisecond each
// here (bench/results/dist_throughput.md). The sums are of x - K per channel, K the running mean
// (the same on every worker), so that E[(x-K)^2] - E[x-K]^2 loses little to cancellation.
torch::Tensor sync_batch_norm(const torch::Tensor& x, torch::nn::BatchNorm2d& bn) {
  const int64_t c = x.size(1);
  const auto view = std::vector<int64_t>{1, c, 1, 1};
  const torch::Tensor shift = bn->options.track_running_stats() ? bn->running_mean.detach().clone() : torch::zeros({c}, x.options());
  const torch::Tensor d = x - shift.view(view);
  const torch::Tensor count = torch::full({1}, double(x.numel() / std::max<int64_t>(1, c)), x.options());
  const torch::Tensor sums = dist_allreduce_autograd(torch::cat({d.sum({0, 2, 3}), (d * d).sum({0, 2, 3}), count}));
  const torch::Tensor n = sums.narrow(0, 2 * c, 1).detach();
  const torch::Tensor mean_d = sums.narrow(0, 0, c) / n;
  const torch::Tensor mean = mean_d + shift;
  const torch::Tensor var = torch::clamp_min(sums.narrow(0, c, c) / n - mean_d * mean_d, 0.0);  // biased
  const torch::Tensor centred = d - mean_d.view(view);
  torch::Tensor y = centred * torch::rsqrt(var + bn->options.eps()).view(view);
  if (bn->options.affine()) y = y * bn->weight.view(view) + bn->bias.view(view);
  if (bn->options.track_running_stats()) {
    torch::NoGradGuard no_grad;
    const double m = bn->options.momentum().value_or(0.1);
    const double total = n.item<double>();
    bn->running_mean.mul_(1 - m).add_(mean.detach(), m);
    bn->running_var.mul_(1 - m).add_(var.detach() * (total / std::max(1.0, total - 1)), m);
    bn->num_batches_tracked.add_(1);
  }
  return y;
}

}  // namespace

namespace {

// A tensor the layout applies to: past the image (and the features of the keyword-spotting
// front end), with more than one pixel ([N, C, 1, 1] views of dense layers do not count).
bool laid_out(const Node& nd) {
  return nd.kind != OpKind::Input && nd.kind != OpKind::Mfcc && nd.out.h * nd.out.w > 1;
}

bool has_laid_out_tensor(const Graph& g) { return std::any_of(g.nodes.begin(), g.nodes.end(), laid_out); }

}  // namespace

bool prefers_channels_last(const Graph& g) {
  return has_laid_out_tensor(g) &&
         std::all_of(g.nodes.begin(), g.nodes.end(), [](const Node& nd) { return !laid_out(nd) || nd.out.c % 8 == 0; });
}

namespace F = torch::nn::functional;

namespace {

// Submodules are registered under the node's index ("node12"), not its name: LibTorch refuses
// names with a dot, which imported models use ("features.0"). ir_param_name maps back.
std::string module_key(int node) { return "node" + std::to_string(node); }

bool symmetric(const PadAmounts& p) { return p.top == p.bottom && p.left == p.right; }

torch::Tensor pad_input(const torch::Tensor& x, const PadAmounts& p, double value) {
  return F::pad(x, F::PadFuncOptions({p.left, p.right, p.top, p.bottom}).value(value));
}

torch::Tensor apply_activation(torch::Tensor x, Activation a) {
  switch (a) {
    case Activation::ReLU: return torch::relu(x);
    case Activation::ReLU6: return torch::clamp(x, 0, 6);
    case Activation::None: return x;
  }
  return x;
}

}  // namespace

NetImpl::NetImpl(const Graph& g, int pad_to) : logical_(g) {
  logical_.infer_shapes();
  graph_ = logical_;
  if (pad_to > 1) build_padding(pad_to);
  const int n = int(graph_.nodes.size());
  convs_.assign(n, nullptr);
  linears_.assign(n, nullptr);
  bns_.assign(n, nullptr);
  last_use_.assign(n, -1);
  for (int i = 0; i < n; ++i)
    for (int in : graph_.nodes[i].inputs) last_use_[in] = i;
  last_use_[graph_.output] = n;  // never freed
  for (int i = 0; i < n; ++i) {
    const Node& nd = graph_.nodes[i];
    if (nd.inputs.empty()) continue;
    const Shape& in = graph_.nodes[nd.inputs[0]].out;
    PadAmounts p = Graph::pad_amounts(nd, in);
    switch (nd.kind) {
      case OpKind::Conv2D:
      case OpKind::DepthwiseConv2D: {
        bool dw = nd.kind == OpKind::DepthwiseConv2D;
        auto opt = torch::nn::Conv2dOptions(in.c, nd.out.c, {nd.kernel_h, nd.kernel_w})
                       .stride({nd.stride_h, nd.stride_w})
                       .dilation({nd.dilation_h, nd.dilation_w})
                       .groups(dw ? in.c : 1)
                       .bias(nd.use_bias);
        if (symmetric(p)) opt.padding(std::vector<int64_t>{p.top, p.left});
        convs_[i] = register_module(module_key(i), torch::nn::Conv2d(opt));
        break;
      }
      case OpKind::Dense:
        linears_[i] = register_module(
            module_key(i), torch::nn::Linear(torch::nn::LinearOptions(in.c, nd.out.c).bias(nd.use_bias)));
        break;
      case OpKind::BatchNorm:
        bns_[i] = register_module(
            module_key(i), torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(in.c).eps(nd.bn_epsilon)));
        break;
      default:
        break;
    }
  }
  device_ = detail::compute_device();
  if (!device_.is_cpu()) to(device_);
  channels_last_ = device_.is_cpu() && prefers_channels_last(graph_);
  spatial_ = has_laid_out_tensor(graph_);
}

torch::Tensor NetImpl::lay_out(const torch::Tensor& x) const {
  if (x.dim() != 4 || !spatial_) return x;
  // A tensor with one channel is contiguous in both layouts; LibTorch's kernels follow the
  // layout its strides suggest, so both are checked (a copy sets them).
  const auto want = channels_last_ ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  if (x.is_contiguous(want) && x.suggest_memory_format() == want) return x;
  return x.clone(want);
}

void NetImpl::build_padding(int pad_to) {
  const ChannelGroups exact = find_channel_groups(logical_);
  Graph padded = logical_;
  std::vector<std::pair<int, int>> groups;  // padded group id, exact width
  for (const ChannelGroup& grp : exact.groups) {
    const int wide = (grp.channels + pad_to - 1) / pad_to * pad_to;
    if (!grp.prunable || wide == grp.channels || wide > Graph::kMaxDim) continue;
    for (int p : grp.producers) padded.nodes[size_t(p)].out_channels += wide - grp.channels;
    groups.emplace_back(grp.id, grp.channels);
    padding_channels_ += wide - grp.channels;
  }
  if (groups.empty()) return;
  try {
    padded.infer_shapes();
  } catch (const UserError&) {  // a padded tensor beyond the graph's limits: train it exact
    padding_channels_ = 0;
    return;
  }
  // Where each exact element sits in the padded tensors: the padded graph's parameters are
  // filled with their own flat indices and cut back to the exact widths by the surgery that
  // pruning uses (keeping each padded group's first channels). Indices travel as two floats
  // (index / 4096 and index % 4096), each exact in float for tensors of up to 2^36 elements.
  constexpr int64_t kSplit = 4096;
  const auto padded_shapes = expected_weight_shapes(padded);
  WeightMap hi, lo;
  for (const auto& [name, shape] : padded_shapes) {
    WeightTensor h, l;
    h.shape = l.shape = shape;
    const int64_t n = h.numel();
    h.data.resize(size_t(n));
    l.data.resize(size_t(n));
    for (int64_t k = 0; k < n; ++k) h.data[size_t(k)] = float(k / kSplit), l.data[size_t(k)] = float(k % kSplit);
    hi[name] = std::move(h);
    lo[name] = std::move(l);
  }
  Graph cur = padded;
  for (const auto& [id, width] : groups) {
    const ChannelGroups cg = find_channel_groups(cur);
    std::vector<int> keep(static_cast<size_t>(width));
    for (int k = 0; k < width; ++k) keep[size_t(k)] = k;
    prune_group(cur, cg, id, keep, &lo);
    cur = prune_group(cur, cg, id, keep, &hi);
  }
  check_weights_match(logical_, hi, "channel padding");
  for (const auto& [name, shape] : padded_shapes) {
    const WeightTensor &h = hi.at(name), &l = lo.at(name);
    std::vector<int64_t> idx(h.data.size());
    for (size_t k = 0; k < idx.size(); ++k) idx[k] = int64_t(h.data[k]) * kSplit + int64_t(l.data[k]);
    padded_index_[name] = {h.shape, shape, torch::tensor(idx, torch::kLong)};
  }
  // Gates: each exact input feature of a conv/dense goes to the same channel of its segment in
  // the padded layout (after a flatten, per position).
  const ChannelGroups wide = find_channel_groups(padded);
  for (size_t i = 0; i < padded.nodes.size(); ++i) {
    const Node& nd = padded.nodes[i];
    if ((nd.kind != OpKind::Conv2D && nd.kind != OpKind::Dense) || nd.inputs.empty()) continue;
    const ChannelLayout& le = exact.layout[size_t(nd.inputs[0])];
    const ChannelLayout& lp = wide.layout[size_t(nd.inputs[0])];
    if (le.channels == lp.channels) continue;
    std::vector<int64_t> idx;
    for (int pos = 0; pos < le.repeat; ++pos)
      for (size_t k = 0; k < le.segments.size(); ++k)
        for (int j = 0; j < le.segments[k].count; ++j)
          idx.push_back(int64_t(pos) * lp.channels + lp.segments[k].offset + j);
    gate_index_[int(i)] = torch::tensor(idx, torch::kLong);
    padded_inputs_[int(i)] = int64_t(lp.channels) * lp.repeat;
  }
  graph_ = padded;
}

WeightTensor NetImpl::to_exact(const std::string& ir_name, const torch::Tensor& padded) const {
  torch::Tensor c = padded.detach().to(torch::kCPU, torch::kFloat).contiguous();
  WeightTensor w;
  const auto it = padded_index_.find(ir_name);
  if (it != padded_index_.end()) c = c.view(-1).index_select(0, it->second.index);
  w.shape = it != padded_index_.end() ? it->second.exact_shape : std::vector<int64_t>(c.sizes().begin(), c.sizes().end());
  w.data.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  return w;
}

torch::Tensor NetImpl::to_padded(const std::string& ir_name, const WeightTensor& exact) const {
  torch::Tensor e = torch::from_blob(const_cast<float*>(exact.data.data()), {exact.numel()}, torch::kFloat);
  const auto it = padded_index_.find(ir_name);
  if (it == padded_index_.end()) return e.clone().view(exact.shape);
  const PaddedParam& p = it->second;
  torch::Tensor out = torch::zeros(p.padded_shape, torch::kFloat);
  out.view(-1).index_copy_(0, p.index, e);
  return out;
}

torch::Tensor NetImpl::forward(const torch::Tensor& x, bool logits) {
  const int n = int(graph_.nodes.size());
  int out_node = graph_.output;
  if (logits && graph_.nodes[out_node].kind == OpKind::Softmax)
    out_node = graph_.nodes[out_node].inputs[0];
  std::vector<torch::Tensor> v(n);
  // The layout the graph's widths run fastest in (channels_last()). A copy of the input costs
  // little next to a step; where the strides already match, none is made.
  const torch::Tensor xl = lay_out(x);
  v[0] = fake_quant_ ? fake_quant_output(0, xl) : xl;
  for (int i = 1; i <= out_node; ++i) {
    const Node& nd = graph_.nodes[i];
    const torch::Tensor& a = v[nd.inputs[0]];
    const Shape& in = graph_.nodes[nd.inputs[0]].out;
    torch::Tensor y;
    switch (nd.kind) {
      case OpKind::Input:
        break;
      case OpKind::Conv2D:
      case OpKind::DepthwiseConv2D: {
        PadAmounts p = Graph::pad_amounts(nd, in);
        torch::Tensor t = symmetric(p) ? a : pad_input(a, p, 0.0);
        torch::Tensor weight_gate;  // a gate on the weights' input channels (see below)
        if (nd.kind == OpKind::Conv2D && !gate_masks_.empty()) {
          torch::Tensor gv = gate_vector(i);
          // conv(x * g) = conv with the weights' input channels times g, in value and in every
          // gradient; the weights are far smaller than the activations, so gating them is
          // cheap. Straight-through gates (and fake quantisation) gate the activations.
          if (gv.defined() && !gate_straight_through_ && !fake_quant_) weight_gate = gv.view({1, -1, 1, 1});
          else if (gv.defined()) t = apply_gate(t, gv.view({1, -1, 1, 1}));
        }
        auto& c = convs_[i];
        const torch::Tensor w = weight_gate.defined() ? c->weight * weight_gate
                                : fake_quant_         ? fake_quant_weight(c->weight, true)
                                                      : torch::Tensor();
        if (w.defined()) {
          const std::vector<int64_t> pad = symmetric(p) ? std::vector<int64_t>{p.top, p.left} : std::vector<int64_t>{0, 0};
          y = torch::conv2d(t, w, nd.use_bias ? c->bias : torch::Tensor(), {nd.stride_h, nd.stride_w}, pad,
                            {nd.dilation_h, nd.dilation_w}, nd.kind == OpKind::DepthwiseConv2D ? in.c : 1);
        } else {
          y = c->forward(t);
        }
        y = apply_activation(y, nd.activation);
        break;
      }
      case OpKind::Dense: {
        torch::Tensor t = a.flatten(1);
        torch::Tensor weight_gate;
        if (!gate_masks_.empty()) {
          torch::Tensor gv = gate_vector(i);
          if (gv.defined() && !gate_straight_through_ && !fake_quant_) weight_gate = gv.view({1, -1});
          else if (gv.defined()) t = apply_gate(t, gv.view({1, -1}));
        }
        auto& l = linears_[i];
        const torch::Tensor w = weight_gate.defined() ? l->weight * weight_gate
                                : fake_quant_         ? fake_quant_weight(l->weight, false)
                                                      : torch::Tensor();
        y = w.defined() ? torch::linear(t, w, nd.use_bias ? l->bias : torch::Tensor()) : l->forward(t);
        y = apply_activation(y, nd.activation).view({a.size(0), nd.out.c, 1, 1});
        break;
      }
      case OpKind::BatchNorm:
        y = dist().active() && is_training() ? sync_batch_norm(a, bns_[i]) : bns_[i]->forward(a);
        break;
      case OpKind::ReLU:
        y = torch::relu(a);
        break;
      case OpKind::ReLU6:
        y = torch::clamp(a, 0, 6);
        break;
      case OpKind::Dropout:
        y = nd.dropout_rate > 0 ? torch::dropout(a, nd.dropout_rate, is_training()) : a;
        break;
      case OpKind::Mfcc:  // datasets hold the features: the front end passes them on
        y = a;
        break;
      case OpKind::MaxPool: {
        PadAmounts p = Graph::pad_amounts(nd, in);
        torch::Tensor t = (p.top | p.bottom | p.left | p.right)
                              ? pad_input(a, p, -std::numeric_limits<double>::infinity())
                              : a;
        y = F::max_pool2d(t, F::MaxPool2dFuncOptions({nd.kernel_h, nd.kernel_w})
                                 .stride({nd.stride_h, nd.stride_w}));
        break;
      }
      case OpKind::AvgPool: {
        PadAmounts p = Graph::pad_amounts(nd, in);
        auto opt = F::AvgPool2dFuncOptions({nd.kernel_h, nd.kernel_w}).stride({nd.stride_h, nd.stride_w});
        if (!(p.top | p.bottom | p.left | p.right)) {
          y = F::avg_pool2d(a, opt);
        } else {
          // Average over the real pixels only (padding excluded), as TFLite does.
          torch::Tensor sum = F::avg_pool2d(pad_input(a, p, 0.0), opt);
          torch::Tensor ones = torch::ones({1, 1, in.h, in.w}, a.options());
          torch::Tensor cnt = F::avg_pool2d(pad_input(ones, p, 0.0), opt);
          y = sum / cnt;
        }
        break;
      }
      case OpKind::GlobalAvgPool:
        y = a.mean({2, 3}, /*keepdim=*/true);
        break;
      case OpKind::Flatten:
        // IR order is HWC: permute NCHW -> NHWC before flattening.
        y = a.permute({0, 2, 3, 1}).reshape({a.size(0), -1, 1, 1});
        break;
      case OpKind::Add: {
        y = a;
        for (size_t k = 1; k < nd.inputs.size(); ++k) y = y + v[nd.inputs[k]];
        y = apply_activation(y, nd.activation);
        break;
      }
      case OpKind::Concat: {
        std::vector<torch::Tensor> parts;
        for (int in_idx : nd.inputs) parts.push_back(v[in_idx]);
        y = torch::cat(parts, 1);
        break;
      }
      case OpKind::Softmax:
        y = torch::softmax(a, 1);
        break;
    }
    v[i] = fake_quant_ ? fake_quant_output(i, y) : y;
    // Free inputs whose last consumer has run (keeps memory flat for deep nets).
    for (int in_idx : nd.inputs)
      if (last_use_[in_idx] == i && in_idx != 0) v[in_idx] = torch::Tensor();
  }
  return v[out_node].reshape({x.size(0), -1});
}

void NetImpl::set_gates(const ChannelGroups& groups, std::vector<torch::Tensor> masks, bool straight_through) {
  gate_groups_ = groups;
  // On the net's device (a differentiable copy: a mask made elsewhere still gets its gradient).
  for (torch::Tensor& m : masks)
    if (m.defined() && m.device() != device_) m = m.to(device_);
  gate_masks_ = std::move(masks);
  gate_straight_through_ = straight_through;
}

void NetImpl::clear_gates() {
  gate_groups_ = ChannelGroups();
  gate_masks_.clear();
}

void NetImpl::fold_gates() {
  if (gate_masks_.empty()) return;
  torch::NoGradGuard no_grad;
  for (int i = 1; i < int(graph_.nodes.size()); ++i) {
    const OpKind kind = graph_.nodes[size_t(i)].kind;
    if (kind != OpKind::Conv2D && kind != OpKind::Dense) continue;
    torch::Tensor gv = gate_vector(i);
    if (!gv.defined()) continue;
    gv = gv.detach();
    if (kind == OpKind::Conv2D) convs_[i]->weight.mul_(gv.view({1, -1, 1, 1}));
    else linears_[i]->weight.mul_(gv.view({1, -1}));
  }
}

torch::Tensor NetImpl::apply_gate(const torch::Tensor& t, const torch::Tensor& gate) const {
  if (!gate_straight_through_) return t * gate;
  return t + (t * gate - t).detach();  // forward: t * gate; backward: identity
}

torch::Tensor NetImpl::gate_vector(int node) {
  const ChannelLayout& l = gate_groups_.layout.at(size_t(graph_.nodes[node].inputs[0]));
  bool any = false;
  for (const auto& s : l.segments)
    any = any || (size_t(s.group) < gate_masks_.size() && gate_masks_[size_t(s.group)].defined());
  if (!any) return torch::Tensor();
  std::vector<torch::Tensor> parts;
  for (const auto& s : l.segments) {
    const torch::Tensor& m = size_t(s.group) < gate_masks_.size() ? gate_masks_[size_t(s.group)]
                                                                  : torch::Tensor();
    parts.push_back(m.defined() ? m : torch::ones({s.count}, torch::TensorOptions(torch::kFloat).device(device_)));
  }
  torch::Tensor v = torch::cat(parts);
  // After a flatten the features are position-major (HWC): repeat per position.
  if (l.repeat > 1) v = v.repeat({l.repeat});
  const auto it = gate_index_.find(node);
  if (it == gate_index_.end()) return v;
  // Padded net: the added input channels are zero whatever their gate; 0 keeps it plain.
  return torch::zeros({padded_inputs_.at(node)}, v.options()).index_copy(0, it->second.to(device_), v);
}

void NetImpl::set_fake_quant(bool on) {
  fake_quant_ = on;
  const size_t n = graph_.nodes.size();
  act_lo_.assign(n, 0.0);
  act_hi_.assign(n, 0.0);
  act_seen_.assign(n, false);
}

void NetImpl::set_fake_quant_ranges(const std::vector<double>& lo, const std::vector<double>& hi) {
  TORCH_CHECK(lo.size() == graph_.nodes.size() && hi.size() == lo.size(), "one range per node");
  for (size_t i = 0; i < lo.size(); ++i) {
    act_lo_[i] = std::min(0.0, lo[i]);
    act_hi_[i] = std::max(0.0, hi[i]);
    act_seen_[i] = hi[i] > lo[i];
  }
}

torch::Tensor NetImpl::fake_quant_weight(const torch::Tensor& w, bool per_channel) const {
  torch::Tensor scale;
  {
    torch::NoGradGuard no_grad;
    torch::Tensor m = per_channel ? w.detach().abs().flatten(1).amax(1) : w.detach().abs().max().reshape({1});
    scale = torch::where(m > 0, m / 127.0, torch::ones_like(m)).to(torch::kFloat);
  }
  if (!per_channel) return torch::fake_quantize_per_tensor_affine(w, scale.item<double>(), 0, -127, 127);
  torch::Tensor zero = torch::zeros({scale.size(0)}, torch::TensorOptions(torch::kInt).device(w.device()));
  return torch::fake_quantize_per_channel_affine(w, scale, zero, 0, -127, 127);
}

torch::Tensor NetImpl::fake_quant_output(int node, const torch::Tensor& y) {
  const OpKind k = graph_.nodes[size_t(node)].kind;
  // Outputs that keep their input's parameters, and softmax (fixed int8 range; the loss
  // reads its input), are not rounded again.
  if (k == OpKind::MaxPool || k == OpKind::AvgPool || k == OpKind::GlobalAvgPool || k == OpKind::Flatten ||
      k == OpKind::Dropout || k == OpKind::ReLU || k == OpKind::ReLU6 || k == OpKind::Softmax)
    return y;
  double& lo = act_lo_[size_t(node)];
  double& hi = act_hi_[size_t(node)];
  if (is_training()) {
    torch::Tensor d = y.detach();
    const double blo = std::min(0.0, d.min().item<double>()), bhi = std::max(0.0, d.max().item<double>());
    constexpr double kMomentum = 0.01;
    if (!act_seen_[size_t(node)]) lo = blo, hi = bhi, act_seen_[size_t(node)] = true;
    else lo += kMomentum * (blo - lo), hi += kMomentum * (bhi - hi);
  }
  if (!act_seen_[size_t(node)]) return y;  // no range observed yet (eval before any training step)
  const double scale = std::max((hi - lo) / 255.0, 1e-8);
  const int64_t zp = std::clamp<int64_t>(std::llround(-128.0 - lo / scale), -128, 127);
  return torch::fake_quantize_per_tensor_affine(y, scale, zp, -128, 127);
}

std::vector<torch::Tensor> NetImpl::node_params(int i) const {
  const Node& nd = graph_.nodes[i];
  std::vector<torch::Tensor> r;
  switch (nd.kind) {
    case OpKind::Conv2D:
    case OpKind::DepthwiseConv2D: {
      const auto& m = convs_[i];
      r.push_back(m->weight);
      if (nd.use_bias) r.push_back(m->bias);
      break;
    }
    case OpKind::Dense: {
      const auto& m = linears_[i];
      r.push_back(m->weight);
      if (nd.use_bias) r.push_back(m->bias);
      break;
    }
    case OpKind::BatchNorm: {
      const auto& m = bns_[i];
      r = {m->weight, m->bias, m->running_mean, m->running_var};
      break;
    }
    default:
      break;
  }
  return r;
}

WeightMap NetImpl::weight_map() const {
  WeightMap w;
  auto expected = expected_weight_shapes(graph_);
  size_t k = 0;
  for (int i = 0; i < int(graph_.nodes.size()); ++i) {
    for (const torch::Tensor& t : node_params(i)) {
      const auto& [name, shape] = expected.at(k++);
      WeightTensor wt = to_exact(name, t);
      if (!padded_index_.count(name)) wt.shape = shape;  // the IR's shape (e.g. a dense layer's)
      w[name] = std::move(wt);
    }
  }
  return w;
}

void NetImpl::load_weight_map(const WeightMap& w, const std::string& where) {
  check_weights_match(logical_, w, where);
  auto expected = expected_weight_shapes(graph_);
  size_t k = 0;
  torch::NoGradGuard no_grad;
  for (int i = 0; i < int(graph_.nodes.size()); ++i) {
    for (torch::Tensor t : node_params(i)) {
      const std::string& name = expected.at(k++).first;
      t.copy_(to_padded(name, w.at(name)).view(t.sizes()));
    }
  }
}

std::string ir_param_name(const Graph& g, const std::string& torch_name) {
  const size_t dot = torch_name.find('.');
  const std::string module = torch_name.substr(0, dot);
  std::string p = dot == std::string::npos ? std::string() : torch_name.substr(dot + 1);
  if (module.rfind("node", 0) != 0) return torch_name;
  const int i = std::atoi(module.c_str() + 4);
  if (i < 0 || i >= int(g.nodes.size())) return torch_name;
  const Node& n = g.nodes[size_t(i)];
  if (n.kind == OpKind::BatchNorm) p = p == "weight" ? "gamma" : p == "bias" ? "beta" : p;
  return n.name + "." + p;
}

}  // namespace mcuprune
