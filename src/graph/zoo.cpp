// Model zoo definitions. Each builder uses GraphBuilder; layer names are stable because
// checkpoints, reports and channel groups refer to them.
#include "graph/zoo.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace mcuprune {

namespace {

// Stride to use on a side of the given size: downsampling stops at size 1.
int side_stride(int side, int stride) { return side >= 2 ? stride : 1; }

// Conv with per-side stride chosen so no side shrinks below 1.
int conv_ds(GraphBuilder& b, int x, int out, int kh, int kw, int stride, const std::string& name,
            bool bias = true) {
  const Shape& s = b.shape(x);
  return b.conv_hw(x, out, kh, kw, side_stride(s.h, stride), side_stride(s.w, stride),
                   Padding::Same, name, bias);
}

// 2x2/2 valid max pool; a side smaller than 2 is left alone (window 1, stride 1).
// Returns x unchanged when neither side can shrink.
int maxpool_ds(GraphBuilder& b, int x, const std::string& name) {
  const Shape& s = b.shape(x);
  bool ph = s.h >= 2, pw = s.w >= 2;
  if (!ph && !pw) return x;
  Node n;
  n.kind = OpKind::MaxPool;
  n.name = name;
  n.inputs = {x};
  n.kernel_h = n.stride_h = ph ? 2 : 1;
  n.kernel_w = n.stride_w = pw ? 2 : 1;
  n.padding = Padding::Valid;
  return b.append(n);
}

int conv_bn_relu(GraphBuilder& b, int x, int out, int k, int stride, const std::string& p) {
  x = conv_ds(b, x, out, k, k, stride, p);
  x = b.batchnorm(x, p + "_bn");
  return b.relu(x, p + "_relu");
}

// Round channels to a multiple of 8, never dropping more than 10% (MobileNet rule).
int make_divisible(double v, int divisor = 8) {
  int r = std::max(divisor, int(v + divisor / 2.0) / divisor * divisor);
  if (r < 0.9 * v) r += divisor;
  return r;
}

// What scaled() did while one model was built: a width that leaves every layer at its floor
// of one channel is refused (zoo_build) rather than quietly giving a model of 1-channel layers.
struct ScaledLog {
  int calls = 0, floored = 0;
  int widest = 0;  // the widest base width scaled
};
thread_local ScaledLog scaled_log;

int scaled(int base, double width) {
  ++scaled_log.calls;
  scaled_log.widest = std::max(scaled_log.widest, base);
  if (base * width < 1.5) ++scaled_log.floored;
  return std::max(1, int(std::lround(base * width)));
}

Graph build_tinycnn(const ZooOptions& o) {
  GraphBuilder b("tinycnn", o.input);
  double w = o.width > 0 ? o.width : 1.0;
  int x = conv_bn_relu(b, b.input(), scaled(16, w), 3, 1, "conv1");
  x = maxpool_ds(b, x, "pool1");
  x = conv_bn_relu(b, x, scaled(24, w), 3, 1, "conv2");
  x = maxpool_ds(b, x, "pool2");
  x = b.flatten(x, "flatten");
  b.dense(x, o.classes, "logits");
  return b.finish();
}

Graph build_vgg(const ZooOptions& o) {
  int depth = o.depth ? o.depth : 16;
  // Convolutions per stage for VGG-11/13/16/19; each stage ends with a 2x2 max pool.
  std::vector<int> per_stage;
  if (depth == 11) per_stage = {1, 1, 2, 2, 2};
  else if (depth == 13) per_stage = {2, 2, 2, 2, 2};
  else if (depth == 16) per_stage = {2, 2, 3, 3, 3};
  else if (depth == 19) per_stage = {2, 2, 4, 4, 4};
  else
    throw UserError("vgg: depth " + std::to_string(depth) + " is not supported; use 11, 13, 16 or 19");
  double w = o.width > 0 ? o.width : 0.25;
  const int stage_channels[5] = {64, 128, 256, 512, 512};
  GraphBuilder b("vgg" + std::to_string(depth), o.input);
  int x = b.input();
  for (int s = 0; s < 5; ++s) {
    for (int c = 0; c < per_stage[s]; ++c)
      x = conv_bn_relu(b, x, scaled(stage_channels[s], w), 3, 1,
                       "conv" + std::to_string(s + 1) + "_" + std::to_string(c + 1));
    x = maxpool_ds(b, x, "pool" + std::to_string(s + 1));
  }
  x = b.flatten(x, "flatten");
  // Classifier: two hidden fully connected layers, as in VGG, then the logits.
  int hidden = scaled(512, w);
  x = b.relu(b.dense(x, hidden, "fc1"), "fc1_relu");
  x = b.relu(b.dense(x, hidden, "fc2"), "fc2_relu");
  b.dense(x, o.classes, "logits");
  return b.finish();
}

Graph build_mobilenetv2(const ZooOptions& o) {
  double w = o.width > 0 ? o.width : 0.35;
  GraphBuilder b("mobilenetv2", o.input);
  // Small-input variant: the stem keeps stride 1 (as is usual for 32x32 inputs).
  int x = conv_ds(b, b.input(), make_divisible(32 * w), 3, 3, 1, "stem");
  x = b.relu6(b.batchnorm(x, "stem_bn"), "stem_relu");
  struct Stage {
    int expand, channels, repeats, stride;
  };
  const Stage stages[] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
                          {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  int block = 0;
  for (const Stage& st : stages) {
    int out_c = make_divisible(st.channels * w);
    for (int r = 0; r < st.repeats; ++r) {
      std::string p = "block" + std::to_string(++block);
      int in_c = b.shape(x).c;
      int stride = r == 0 ? st.stride : 1;
      int y = x;
      if (st.expand != 1) {
        y = b.conv(y, in_c * st.expand, 1, 1, Padding::Same, p + "_expand");
        y = b.relu6(b.batchnorm(y, p + "_expand_bn"), p + "_expand_relu");
      }
      const Shape& s = b.shape(y);
      Node dw;
      dw.kind = OpKind::DepthwiseConv2D;
      dw.name = p + "_dw";
      dw.inputs = {y};
      dw.kernel_h = dw.kernel_w = 3;
      dw.stride_h = side_stride(s.h, stride);
      dw.stride_w = side_stride(s.w, stride);
      dw.padding = Padding::Same;
      y = b.append(dw);
      y = b.relu6(b.batchnorm(y, p + "_dw_bn"), p + "_dw_relu");
      y = b.conv(y, out_c, 1, 1, Padding::Same, p + "_project");
      y = b.batchnorm(y, p + "_project_bn");
      if (b.shape(y) == b.shape(x)) y = b.add({x, y}, p + "_add");
      x = y;
    }
  }
  int last = w > 1.0 ? make_divisible(1280 * w) : 1280;
  x = b.conv(x, last, 1, 1, Padding::Same, "head");
  x = b.relu6(b.batchnorm(x, "head_bn"), "head_relu");
  x = b.global_avgpool(x, "gap");
  b.dense(x, o.classes, "logits");
  return b.finish();
}

Graph build_resnet8(const ZooOptions& o) {
  double w = o.width > 0 ? o.width : 1.0;
  GraphBuilder b("resnet8", o.input);
  int x = conv_bn_relu(b, b.input(), scaled(16, w), 3, 1, "conv1");
  const int filters[3] = {scaled(16, w), scaled(32, w), scaled(64, w)};
  for (int s = 0; s < 3; ++s) {
    std::string p = "stack" + std::to_string(s + 1);
    int stride = s == 0 ? 1 : 2;
    int y = conv_bn_relu(b, x, filters[s], 3, stride, p + "_conv1");
    y = conv_ds(b, y, filters[s], 3, 3, 1, p + "_conv2");
    y = b.batchnorm(y, p + "_conv2_bn");
    int shortcut = x;
    if (b.shape(x) != b.shape(y)) shortcut = conv_ds(b, x, filters[s], 1, 1, stride, p + "_shortcut");
    x = b.relu(b.add({shortcut, y}, p + "_add"), p + "_relu");
  }
  x = b.global_avgpool(x, "gap");
  b.dense(x, o.classes, "logits");
  return b.finish();
}

Graph build_dscnn(const ZooOptions& o) {
  double w = o.width > 0 ? o.width : 1.0;
  int filters = scaled(64, w);
  GraphBuilder b("dscnn", o.input);
  int x = conv_ds(b, b.input(), filters, 10, 4, 2, "conv1");
  x = b.relu(b.batchnorm(x, "conv1_bn"), "conv1_relu");
  x = b.dropout(x, 0.2f, "dropout1");
  for (int k = 1; k <= 4; ++k) {
    std::string p = "ds" + std::to_string(k);
    x = b.depthwise(x, 3, 1, Padding::Same, p + "_dw");
    x = b.relu(b.batchnorm(x, p + "_dw_bn"), p + "_dw_relu");
    x = b.conv(x, filters, 1, 1, Padding::Same, p + "_pw");
    x = b.relu(b.batchnorm(x, p + "_pw_bn"), p + "_pw_relu");
  }
  x = b.dropout(x, 0.4f, "dropout2");
  x = b.global_avgpool(x, "gap");
  x = b.flatten(x, "flatten");
  b.dense(x, o.classes, "logits");
  return b.finish();
}

}  // namespace

const std::vector<ZooEntry>& zoo_entries() {
  static const std::vector<ZooEntry> e = {
      {"tinycnn", "2 conv + dense; small and fast, for tests and the demo", 1.0, 0},
      {"vgg", "VGG-style: 13 conv (BN, ReLU) in 5 stages + 3 dense (depth 11/13/16/19)", 0.25, 16},
      {"mobilenetv2", "MobileNet-v2 inverted residual blocks, ReLU6, residual adds", 0.35, 0},
      {"resnet8", "MLPerf Tiny image classification ResNet-8 (16/32/64 filters)", 1.0, 0},
      {"dscnn", "MLPerf Tiny keyword spotting DS-CNN (64 filters, 4 separable blocks)", 1.0, 0},
  };
  return e;
}

bool zoo_has(const std::string& name) {
  for (const auto& e : zoo_entries())
    if (e.name == name) return true;
  return false;
}

Graph zoo_build(const std::string& name, const ZooOptions& opt) {
  if (!zoo_has(name)) {
    std::string list;
    for (const auto& e : zoo_entries()) list += (list.empty() ? "" : ", ") + e.name;
    throw UserError("unknown model '" + name + "'; built-in models: " + list +
                    " (or give a model directory or .json file)");
  }
  if (opt.input.h < 1 || opt.input.w < 1 || opt.input.c < 1)
    throw UserError("input shape " + opt.input.str() + " must be positive (HxWxC)");
  if (opt.classes < 2) throw UserError("number of classes must be >= 2, got " + std::to_string(opt.classes));
  if (!(opt.width >= 0 && opt.width <= 16)) throw UserError("width multiplier must be a number in (0, 16]");
  if (opt.depth != 0 && name != "vgg")
    throw UserError("--depth applies only to vgg, not to " + name);
  scaled_log = {};
  Graph g = name == "tinycnn"       ? build_tinycnn(opt)
            : name == "vgg"         ? build_vgg(opt)
            : name == "mobilenetv2" ? build_mobilenetv2(opt)
            : name == "resnet8"     ? build_resnet8(opt)
                                    : build_dscnn(opt);
  if (opt.width > 0 && scaled_log.calls > 0 && scaled_log.floored == scaled_log.calls) {
    char smallest[32], given[32];
    std::snprintf(smallest, sizeof smallest, "%.3g", 1.5 / scaled_log.widest);
    std::snprintf(given, sizeof given, "%g", opt.width);
    throw UserError("width multiplier " + std::string(given) + " leaves every layer of " + name +
                    " with a single channel; use a width of at least " + smallest +
                    " (its widest layer has " + std::to_string(scaled_log.widest) + " channels at width 1)");
  }
  return g;
}

}  // namespace mcuprune
