// Writes a quantised model as C99 source for the runtime (see c_source.h).
#include "export/c_source.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "export/embedded.h"
#include "graph/mfcc_tables.h"
#include "resources/formulas.h"
#include "quant/runtime_ops.h"
#include "resources/memory.h"
#include "resources/profile.h"

namespace mcuprune {

namespace {

// A float literal that reads back as exactly the same float.
std::string float_literal(float v) {
  if (!std::isfinite(v)) throw UserError("a quantisation parameter is not finite; re-quantise the model");
  char b[48];
  std::snprintf(b, sizeof b, "%.9g", double(v));
  std::string s = b;
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s + "f";
}

template <class T>
void array(std::ostringstream& o, const char* type, const std::string& name, const std::vector<T>& v,
           int64_t& bytes) {
  o << "static const " << type << " " << name << "[" << std::max<size_t>(1, v.size()) << "] = {";
  for (size_t k = 0; k < v.size(); ++k) {
    if (k % 16 == 0) o << "\n  ";
    o << int64_t(v[k]) << (k + 1 < v.size() ? ", " : "");
  }
  if (v.empty()) o << "0";
  o << "\n};\n";
  bytes += int64_t(std::max<size_t>(1, v.size()) * sizeof(T));
}

std::string shape(const mp_shape& s) {
  return "{" + std::to_string(s.h) + ", " + std::to_string(s.w) + ", " + std::to_string(s.c) + "}";
}

std::string window(const mp_window& w) {
  std::ostringstream o;
  o << "{.in = " << shape(w.in) << ", .out = " << shape(w.out) << ", .kernel_h = " << w.kernel_h
    << ", .kernel_w = " << w.kernel_w << ", .stride_h = " << w.stride_h << ", .stride_w = " << w.stride_w
    << ", .dilation_h = " << w.dilation_h << ", .dilation_w = " << w.dilation_w << ", .pad_top = " << w.pad_top
    << ", .pad_left = " << w.pad_left << "}";
  return o.str();
}

template <class T>
std::string list(const T* v, int n, bool floats = false) {
  std::string s = "{";
  for (int k = 0; k < n; ++k) {
    s += floats ? float_literal(float(v[k])) : std::to_string(int64_t(v[k]));
    s += k + 1 < n ? ", " : "";
  }
  return s + "}";
}

const char* kind_name(mp_op_kind k) {
  switch (k) {
    case MP_OP_CONV: return "MP_OP_CONV";
    case MP_OP_DEPTHWISE_CONV: return "MP_OP_DEPTHWISE_CONV";
    case MP_OP_FULLY_CONNECTED: return "MP_OP_FULLY_CONNECTED";
    case MP_OP_MAX_POOL: return "MP_OP_MAX_POOL";
    case MP_OP_AVG_POOL: return "MP_OP_AVG_POOL";
    case MP_OP_MEAN: return "MP_OP_MEAN";
    case MP_OP_ADD: return "MP_OP_ADD";
    case MP_OP_CONCAT: return "MP_OP_CONCAT";
    case MP_OP_RESHAPE: return "MP_OP_RESHAPE";
    case MP_OP_SOFTMAX: return "MP_OP_SOFTMAX";
    case MP_OP_CLAMP: return "MP_OP_CLAMP";
    case MP_OP_MFCC: return "MP_OP_MFCC";
  }
  return "?";
}

void float_array(std::ostringstream& o, const std::string& name, const std::vector<float>& v, int64_t& bytes) {
  o << "static const float " << name << "[" << std::max<size_t>(1, v.size()) << "] = {";
  for (size_t k = 0; k < v.size(); ++k) {
    if (k % 8 == 0) o << "\n  ";
    o << float_literal(v[k]) << (k + 1 < v.size() ? ", " : "");
  }
  if (v.empty()) o << "0.0f";
  o << "\n};\n";
  bytes += int64_t(std::max<size_t>(1, v.size()) * 4);
}

// The audio front end of step k (runtime/kernels/mfcc.h): its tables, its scratch buffer and
// its parameters, which end with the model's feature normalisation and int8 quantisation.
void mfcc_definition(std::ostringstream& o, const Graph& g, const QuantizedModel& q, int node, int k, int64_t& bytes) {
  const MfccParams& m = g.nodes[size_t(node)].mfcc;
  const MfccDeviceTables t = mfcc_device_tables(m);
  const std::string p = "p" + std::to_string(k);
  int64_t table_bytes = 0;
  float_array(o, p + "_window", t.window, table_bytes);
  float_array(o, p + "_cos", t.twiddle_cos, table_bytes);
  float_array(o, p + "_sin", t.twiddle_sin, table_bytes);
  array(o, "int16_t", p + "_band_start", t.band_start, table_bytes);
  array(o, "int16_t", p + "_band_length", t.band_length, table_bytes);
  float_array(o, p + "_band_weights", t.band_weights, table_bytes);
  float_array(o, p + "_dct", t.dct, table_bytes);
  bytes += table_bytes + kMfccParamsBytes;
  const float mean = g.normalization.empty() ? 0.0f : g.normalization.mean.at(0);
  const float sd = g.normalization.empty() ? 1.0f : g.normalization.stddev.at(0);
  const QuantParams& out = q.activations[size_t(node)];
  o << "static float " << p << "_scratch[" << t.scratch_floats << "]; /* the FFT, mel and coefficient buffers */\n"
    << "static const mp_mfcc_params " << p << " = {\n  .clip_samples = " << m.clip_samples << ", .window = " << m.window
    << ", .stride = " << m.stride << ", .fft = " << m.fft << ", .frames = " << m.frames() << ", .mel_bins = " << m.mel_bins
    << ", .coefficients = " << m.coefficients << ",\n  .window_fn = " << p << "_window, .twiddle_cos = " << p
    << "_cos, .twiddle_sin = " << p << "_sin,\n  .band_start = " << p << "_band_start, .band_length = " << p
    << "_band_length, .band_weights = " << p << "_band_weights,\n  .dct = " << p << "_dct, .log_offset = "
    << float_literal(float(m.log_offset)) << ",\n  .mean = " << float_literal(mean) << ", .inv_stddev = "
    << float_literal(1.0f / sd) << ", .output_scale = " << float_literal(out.scale)
    << ", .output_zero_point = " << out.zero_point << ",\n  .scratch = " << p << "_scratch};\n";
}

// The parameter struct of one op (and its arrays) as C definitions named p<k>.
void op_definition(std::ostringstream& o, const RuntimeOp& op, int k, int64_t& bytes) {
  const std::string p = "p" + std::to_string(k);
  auto requant = [&]() {
    array(o, "int8_t", p + "_weights", op.weights, bytes);
    array(o, "int32_t", p + "_bias", op.bias, bytes);
    array(o, "int32_t", p + "_multiplier", op.multiplier, bytes);
    array(o, "int32_t", p + "_shift", op.shift, bytes);
  };
  auto quant = [&](int32_t in_off, int32_t zp, int32_t lo, int32_t hi) {
    o << "  .input_offset = " << in_off << ", .output_zero_point = " << zp << ", .act_min = " << lo
      << ", .act_max = " << hi << ",\n";
  };
  switch (op.kind) {
    case MP_OP_CONV: {
      const mp_conv_params& c = op.conv;
      requant();
      o << "static const mp_conv_params " << p << " = {\n  .win = " << window(c.win) << ",\n";
      quant(c.input_offset, c.output_zero_point, c.act_min, c.act_max);
      o << "  .weights = " << p << "_weights, .bias = " << p << "_bias, .multiplier = " << p
        << "_multiplier, .shift = " << p << "_shift};\n";
      bytes += int64_t(sizeof c);
      break;
    }
    case MP_OP_DEPTHWISE_CONV: {
      const mp_depthwise_conv_params& c = op.depthwise;
      requant();
      o << "static const mp_depthwise_conv_params " << p << " = {\n  .win = " << window(c.win)
        << ",\n  .depth_multiplier = " << c.depth_multiplier << ",\n";
      quant(c.input_offset, c.output_zero_point, c.act_min, c.act_max);
      o << "  .weights = " << p << "_weights, .bias = " << p << "_bias, .multiplier = " << p
        << "_multiplier, .shift = " << p << "_shift};\n";
      bytes += int64_t(sizeof c);
      break;
    }
    case MP_OP_FULLY_CONNECTED: {
      const mp_fully_connected_params& c = op.fully_connected;
      array(o, "int8_t", p + "_weights", op.weights, bytes);
      array(o, "int32_t", p + "_bias", op.bias, bytes);
      o << "static const mp_fully_connected_params " << p << " = {\n  .in_features = " << c.in_features
        << ", .out_features = " << c.out_features << ",\n";
      quant(c.input_offset, c.output_zero_point, c.act_min, c.act_max);
      o << "  .multiplier = " << c.multiplier << ", .shift = " << c.shift << ", .weights = " << p
        << "_weights, .bias = " << p << "_bias};\n";
      bytes += int64_t(sizeof c);
      break;
    }
    case MP_OP_MAX_POOL:
    case MP_OP_AVG_POOL:
      o << "static const mp_pool_params " << p << " = {.win = " << window(op.pool.win) << "};\n";
      bytes += int64_t(sizeof op.pool);
      break;
    case MP_OP_MEAN:
      o << "static const mp_mean_params " << p << " = {.in = " << shape(op.mean.in) << "};\n";
      bytes += int64_t(sizeof op.mean);
      break;
    case MP_OP_ADD: {
      const mp_add_params& a = op.add;
      o << "static const mp_add_params " << p << " = {\n  .n_inputs = " << a.n_inputs << ", .size = " << a.size
        << ", .left_shift = " << a.left_shift << ",\n  .input_zero_point = " << list(a.input_zero_point, a.n_inputs)
        << ",\n  .input_multiplier = " << list(a.input_multiplier, a.n_inputs)
        << ",\n  .input_shift = " << list(a.input_shift, a.n_inputs) << ",\n  .output_multiplier = "
        << a.output_multiplier << ", .output_shift = " << a.output_shift << ",\n  .output_zero_point = "
        << a.output_zero_point << ", .act_min = " << a.act_min << ", .act_max = " << a.act_max << "};\n";
      bytes += int64_t(sizeof a);
      break;
    }
    case MP_OP_CONCAT: {
      const mp_concat_params& c = op.concat;
      o << "static const mp_concat_params " << p << " = {\n  .n_inputs = " << c.n_inputs << ", .pixels = " << c.pixels
        << ", .out_c = " << c.out_c << ",\n  .channels = " << list(c.channels, c.n_inputs)
        << ",\n  .same = " << list(c.same, c.n_inputs) << ",\n  .scale = " << list(c.scale, c.n_inputs, true)
        << ",\n  .bias = " << list(c.bias, c.n_inputs, true) << ",\n  .output_zero_point = " << c.output_zero_point
        << "};\n";
      bytes += int64_t(sizeof c);
      break;
    }
    case MP_OP_RESHAPE:
      o << "static const mp_reshape_params " << p << " = {.size = " << op.reshape.size << "};\n";
      bytes += int64_t(sizeof op.reshape);
      break;
    case MP_OP_SOFTMAX:
      o << "static const mp_softmax_params " << p << " = {.size = " << op.softmax.size
        << ", .input_scale = " << float_literal(op.softmax.input_scale)
        << ", .output_scale = " << float_literal(op.softmax.output_scale)
        << ", .output_zero_point = " << op.softmax.output_zero_point << "};\n";
      bytes += int64_t(sizeof op.softmax);
      break;
    case MP_OP_CLAMP:
      o << "static const mp_clamp_params " << p << " = {.size = " << op.clamp.size << ", .act_min = " << op.clamp.act_min
        << ", .act_max = " << op.clamp.act_max << "};\n";
      bytes += int64_t(sizeof op.clamp);
      break;
    case MP_OP_MFCC:
      throw std::logic_error("op_definition: the front end is written by mfcc_definition");
  }
}

const char* kCReadme = R"(# A model exported by mcuprune for its C runtime

- `model.h`, `model.c`: the model. Its constants (weights, biases, per-channel multipliers)
  are `const` and go to flash; its one activation arena (`MODEL_ARENA_BYTES`) is a static
  array in RAM, planned ahead (`memory_plan.txt`: every tensor's offset and lifetime).
  When the export chose a patch plan (`export --patch`, auto by default), the first stage
  runs patch by patch (`model_patch` in `model.c`): its tensors other than the input and the
  stage's output are window buffers, and the arena holds one patch's windows at a time.
- `mcuprune_rt/`: the runtime (C99, no malloc, no OS): the interpreter and one kernel per
  operator in `mcuprune_rt/kernels/`.

## Use it in a firmware project

1. Add `model.c`, `mcuprune_rt/*.c` and `mcuprune_rt/kernels/*.c` to the build; add
   `-I<this dir> -I<this dir>/mcuprune_rt` to the include path; link the maths library (`-lm`).
2. Compile with `-std=c99 -O2 -ffp-contract=off` (softmax and concat rescale in float; a
   fused multiply-add would round differently from the host's reference).
3. On a Cortex-M4/M7, add `-DMP_USE_DSP` (with `-mcpu=cortex-m4` or `-mcpu=cortex-m7`) for
   the dual 16-bit multiply-accumulate path; results are bit-identical to the portable path.
4. Call it:

```c
#include "model.h"
int8_t in[MODEL_INPUT_SIZE], out[MODEL_OUTPUT_SIZE];
/* HWC input, normalised as in training, then quantised: */
mp_quantize(image, MODEL_INPUT_SIZE, MODEL_INPUT_SCALE, MODEL_INPUT_ZERO_POINT, in);
if (model_invoke(in, out) != 0) { /* error */ }
/* out: int8 class scores (softmax output: probability = (out + 128) / 256) */
```

`mcuprune deploy --model MODEL_DIR --board NAME --emulate` builds a firmware around this code
for the board's memory map and runs it on an emulated Cortex-M4.
)";

// A C string literal's contents: printable ASCII except quote, backslash and '?' (trigraphs),
// everything else as an octal escape.
std::string c_string(const std::string& s) {
  std::string r;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '?') {
      r += char(c);
    } else {
      char b[8];
      std::snprintf(b, sizeof b, "\\%03o", c);
      r += b;
    }
  }
  return r;
}

std::string c_identifier_comment(const std::string& s) {
  std::string r;
  for (char c : s) r += (c == '*' || c == '/' || c == '\n' || c == '\r') ? '_' : c;
  return r;
}

// The patch plan's tables (mcuprune_rt.h's mp_patch_plan): stage tensor 0 is the model
// input, 1 + k the output of the plan's k-th operator (the stage runs first, in the plan's
// order), the last one the cut.
std::string patch_plan_definition(const DeployedGraph& d, const PatchFigures& f, const MemoryPlan& plan,
                                  int64_t& bytes) {
  const PatchGeometry& g = f.geometry;
  const int m = int(g.stage_ops.size());
  std::vector<int> number(d.tensors.size(), -1);
  number[size_t(d.input_tensor)] = 0;
  for (int k = 0; k < m; ++k) number[size_t(d.ops[size_t(g.stage_ops[size_t(k)])].output)] = k + 1;
  std::vector<int> tensors = {d.input_tensor};
  for (int o : g.stage_ops) tensors.push_back(d.ops[size_t(o)].output);
  std::ostringstream o;
  o << "/* The first stage runs in " << g.rows << "x" << g.cols << " patches up to '"
    << c_identifier_comment(d.tensors[size_t(g.cut)].name) << "' (" << m << " operators). */\n";
  o << "static const mp_patch_tensor patch_tensors[" << tensors.size() << "] = {\n";
  for (int t : tensors) {
    const bool copied = g.copy_windows() && (t == d.input_tensor || t == g.cut);
    const int64_t offset = copied ? plan.tensors[size_t(t == g.cut ? plan.cut_window : plan.input_window)].offset
                                  : plan.tensors[size_t(t)].offset;
    const bool whole = !copied && (t == d.input_tensor || t == g.cut);
    const Shape& sh = d.tensors[size_t(t)].shape;
    o << "  {" << offset << ", " << sh.w << ", " << sh.c << ", " << (whole ? 1 : 0) << "}, /* "
      << c_identifier_comment(d.tensors[size_t(t)].name) << " */\n";
  }
  o << "};\n";
  std::vector<int32_t> inputs;
  for (int op : g.stage_ops)
    for (int i : d.ops[size_t(op)].inputs) inputs.push_back(number[size_t(i)]);
  std::vector<int16_t> windows;
  for (const std::vector<PatchWindow>& w : g.windows)
    for (int t : tensors) {
      const PatchWindow& pw = w[size_t(t)];
      for (int v : {pw.y0, pw.y1, pw.x0, pw.x1}) {
        if (v < -32768 || v > 32767)
          throw UserError("patch plan: a window coordinate (" + std::to_string(v) + ") of '" + d.tensors[size_t(t)].name +
                          "' does not fit the runtime's int16 tables; use --patch none for maps over 32767 pixels wide");
        windows.push_back(int16_t(v));
      }
    }
  int64_t table = int64_t(tensors.size()) * 16;
  array(o, "int32_t", "patch_op_inputs", inputs, table);
  array(o, "int16_t", "patch_windows", windows, table);
  o << "static const mp_patch_plan model_patch = {\n  .n_ops = " << m << ", .n_patches = " << g.patches()
    << ",\n  .tensors = patch_tensors, .op_inputs = patch_op_inputs, .windows = patch_windows,\n  .cut_offset = "
    << plan.tensors[size_t(g.cut)].offset << "};\n\n";
  bytes += table + 24;
  return o.str();
}

}  // namespace

CSource export_c(const QuantizedModel& q, const std::string& description, const CSourceOptions& opt) {
  const Graph& g = q.graph;
  const DeployedGraph d = deploy_view(g);
  CSource out;
  // The profile of the mcuprune runtime decides the patch plan and which kernels take scratch
  // (the RAM budget of the board, nucleo-f446re when none is given).
  ProfileOptions po;
  po.runtime = "mcuprune";
  po.patch = opt.patch;
  po.patch_max_overhead = opt.patch_max_overhead;
  po.kernel_scratch = opt.kernel_scratch;
  Profile p = profile_graph(g, opt.board ? *opt.board : find_board("nucleo-f446re"), po);
  out.patch = std::move(p.patch);
  out.patch_note = p.patch_note;
  out.kernel_note = p.kernel_note;
  const std::vector<int64_t>& scratch = p.op_scratch_bytes;
  if (out.patch) {
    out.plan = plan_memory_patched(d, *out.patch, scratch);
  } else {
    std::vector<int64_t> bytes;
    for (const DeployedTensor& t : d.tensors) bytes.push_back(t.bytes());
    out.plan = plan_memory(d, schedule_optimal(d, bytes, scratch, false).order, scratch);
  }
  const MemoryPlan& plan = out.plan;
  for (const DeployedOp& op : d.ops)
    if (!op.fused.empty())
      throw UserError(op.name + ": a node folded into it at deployment (" + g.nodes[size_t(op.fused[0])].name +
                      ") is a separate node in the quantised model; fold the model before the C export");

  int64_t& cbytes = out.constant_bytes;
  std::ostringstream c;
  c << "/* " << c_identifier_comment(description) << "\n * Generated by mcuprune export --format c: the model's "
    << "constants (flash), its operators in execution order and its arena plan. Do not edit. */\n"
    << "#include \"model.h\"\n\n#include \"kernels/add.h\"\n#include \"kernels/clamp.h\"\n#include \"kernels/concat.h\"\n"
    << "#include \"kernels/conv.h\"\n#include \"kernels/depthwise_conv.h\"\n#include \"kernels/fully_connected.h\"\n"
    << "#include \"kernels/mean.h\"\n#include \"kernels/mfcc.h\"\n#include \"kernels/pooling.h\"\n#include \"kernels/reshape.h\"\n"
    << "#include \"kernels/softmax.h\"\n\n";
  std::ostringstream table;
  table << "static const mp_op model_ops[" << plan.order.size() << "] = {\n";
  for (size_t k = 0; k < plan.order.size(); ++k) {
    const DeployedOp& dop = d.ops[size_t(plan.order[k])];
    const Node& n = g.nodes[size_t(dop.ir_node)];
    std::unique_ptr<RuntimeOp> op = runtime_op(q, dop.ir_node);
    if (dop.kind == DeployedKind::FrontEnd) op->kind = MP_OP_MFCC;
    c << "/* step " << k << ": " << c_identifier_comment(n.name) << " (" << kind_name(op->kind) << ") */\n";
    if (dop.kind == DeployedKind::FrontEnd)
      mfcc_definition(c, g, q, dop.ir_node, int(k), cbytes);
    else
      op_definition(c, *op, int(k), cbytes);
    std::vector<int64_t> in_offsets;
    for (int in : n.inputs) in_offsets.push_back(plan.tensors[size_t(d.tensor_of_node[size_t(in)])].offset);
    c << "static const int32_t p" << k << "_inputs[" << in_offsets.size() << "] = " << list(in_offsets.data(), int(in_offsets.size()))
      << ";\n\n";
    cbytes += int64_t(in_offsets.size() * 4);
    table << "  {" << kind_name(op->kind) << ", &p" << k << ", " << in_offsets.size() << ", p" << k << "_inputs, "
          << plan.tensors[size_t(dop.output)].offset << ", "
          << (plan.op_scratch[size_t(plan.order[k])] >= 0 ? plan.tensors[size_t(plan.op_scratch[size_t(plan.order[k])])].offset
                                                           : -1)
          << "},\n";
    cbytes += int64_t(sizeof(mp_op));
  }
  table << "};\n\n";
  c << table.str();
  if (out.patch) c << patch_plan_definition(d, *out.patch, plan, cbytes);
  const PlannedTensor& in = plan.tensors[size_t(d.input_tensor)];
  const PlannedTensor& outp = plan.tensors[size_t(d.output_tensor)];
  // A model with the audio front end takes raw int16 audio (sample / 32768 is the real value).
  const QuantParams qi = g.front_end() >= 0 ? QuantParams{1.0f / 32768.0f, 0} : q.activations[0];
  const QuantParams& qo = q.activations[size_t(g.output)];
  c << "const mp_model mcuprune_model = {\n  .name = \"" << c_string(g.name) << "\",\n  .ops = model_ops, .n_ops = "
    << plan.order.size() << ",\n  .arena_bytes = MODEL_ARENA_BYTES,\n  .input_offset = " << in.offset
    << ", .input_bytes = MODEL_INPUT_SIZE,\n  .output_offset = " << outp.offset
    << ", .output_bytes = MODEL_OUTPUT_SIZE,\n  .input_scale = " << float_literal(qi.scale)
    << ", .output_scale = " << float_literal(qo.scale) << ",\n  .input_zero_point = " << qi.zero_point
    << ", .output_zero_point = " << qo.zero_point << ",\n  .patch = " << (out.patch ? "&model_patch" : "0")
    << "};\n\n"
    << "static int8_t model_arena[MODEL_ARENA_BYTES];\n\n"
    << "int model_invoke(const int8_t *input, int8_t *output) {\n"
    << "  return (int)mp_invoke(&mcuprune_model, model_arena, (int32_t)sizeof model_arena, input, output);\n}\n";
  cbytes += int64_t(sizeof(mp_model));

  const Shape& is = g.input_shape();
  std::ostringstream h;
  h << "/* " << c_identifier_comment(description) << "\n * Generated by mcuprune export --format c. */\n"
    << "#ifndef MCUPRUNE_MODEL_H\n#define MCUPRUNE_MODEL_H\n\n#include \"mcuprune_rt.h\"\n\n"
    << (g.front_end() >= 0 ? "/* The model starts with the MFCC front end: its input is a raw clip of MODEL_INPUT_W int16\n"
                             " * samples (MODEL_INPUT_SIZE bytes), passed to model_invoke as bytes. */\n"
                           : "")
    << "#define MODEL_INPUT_H " << is.h << "\n#define MODEL_INPUT_W " << is.w << "\n#define MODEL_INPUT_C " << is.c
    << "\n#define MODEL_INPUT_SIZE " << in.bytes << "\n#define MODEL_OUTPUT_SIZE " << outp.bytes
    << (g.front_end() >= 0 ? "\n#define MODEL_FEATURES_SIZE " + std::to_string(g.feature_shape().elements()) +
                               " /* the front end's int8 features (mcuprune_model.ops[0]'s output) */"
                           : std::string())
    << "\n#define MODEL_ARENA_BYTES " << plan.arena_bytes << "\n#define MODEL_INPUT_SCALE " << float_literal(qi.scale)
    << "\n#define MODEL_INPUT_ZERO_POINT " << qi.zero_point << "\n#define MODEL_OUTPUT_SCALE "
    << float_literal(qo.scale) << "\n#define MODEL_OUTPUT_ZERO_POINT " << qo.zero_point << "\n\n"
    << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
    << "extern const mp_model mcuprune_model;\n\n"
    << "/* Runs the model: MODEL_INPUT_SIZE int8 values (HWC, quantised with MODEL_INPUT_SCALE and\n"
    << " * MODEL_INPUT_ZERO_POINT; mp_quantize does it) in, MODEL_OUTPUT_SIZE int8 values out.\n"
    << " * Returns 0 (MP_OK) on success. Not reentrant: the arena is one static buffer. */\n"
    << "int model_invoke(const int8_t *input, int8_t *output);\n\n"
    << "#ifdef __cplusplus\n}\n#endif\n\n#endif\n";

  out.files["model.c"] = c.str();
  out.files["model.h"] = h.str();
  out.files["memory_plan.txt"] = memory_plan_table(plan);
  out.files["README.md"] = kCReadme;
  for (const EmbeddedFile& f : embedded_runtime_files()) out.files["mcuprune_rt/" + f.path] = f.content;
  return out;
}

std::string patch_plan_summary(const CSource& src) {
  if (!src.patch) return src.patch_note.empty() ? "" : "  note: " + src.patch_note + "\n";
  const PatchFigures& f = *src.patch;
  const PatchGeometry& g = f.geometry;
  char line[320];
  std::snprintf(line, sizeof line,
                "  first stage: %dx%d patches up to '%s' (%zu operators, +%.1f%% MACs): stage peak %lld B, rest %lld "
                "B, plan tables %lld B\n",
                g.rows, g.cols, src.plan.tensors[size_t(g.cut)].name.c_str(), g.stage_ops.size(),
                100 * f.mac_overhead(), (long long)f.stage_peak, (long long)f.rest_peak, (long long)f.table_bytes);
  return line;
}

}  // namespace mcuprune
