// JSON (de)serialisation of the graph IR. Only attributes that matter for a node's kind
// are written; on load, unknown keys are errors (they are usually typos).
#include "graph/graph_json.h"

#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "graph/io.h"

namespace mcuprune {

using nlohmann::json;

namespace {

bool has_window(OpKind k) {
  return k == OpKind::Conv2D || k == OpKind::DepthwiseConv2D || k == OpKind::MaxPool ||
         k == OpKind::AvgPool;
}
bool is_conv(OpKind k) { return k == OpKind::Conv2D || k == OpKind::DepthwiseConv2D; }
bool has_weights(OpKind k) { return is_conv(k) || k == OpKind::Dense; }

std::set<std::string> allowed_keys(OpKind k) {
  std::set<std::string> s = {"name", "op", "inputs"};
  if (k == OpKind::Input) s.insert("shape");
  if (has_window(k)) s.insert({"kernel", "stride", "padding", "pads"});
  if (is_conv(k)) s.insert("dilation");
  if (k == OpKind::Conv2D || k == OpKind::Dense) s.insert("out_channels");
  if (k == OpKind::DepthwiseConv2D) s.insert("depth_multiplier");
  if (has_weights(k)) s.insert("bias");
  if (has_weights(k) || k == OpKind::Add) s.insert("activation");
  if (k == OpKind::BatchNorm) s.insert("epsilon");
  if (k == OpKind::Dropout) s.insert("rate");
  if (k == OpKind::Mfcc)
    s.insert({"sample_rate", "clip_samples", "window", "stride", "fft", "mel_bins", "lower_hz", "upper_hz",
              "coefficients", "log_offset"});
  return s;
}

Padding padding_from(const std::string& s, const std::string& where) {
  if (s == "valid") return Padding::Valid;
  if (s == "same") return Padding::Same;
  if (s == "explicit") return Padding::Explicit;
  throw UserError(where + "padding '" + s + "' is not one of: valid, same, explicit");
}

Activation activation_from(const std::string& s, const std::string& where) {
  if (s == "none") return Activation::None;
  if (s == "relu") return Activation::ReLU;
  if (s == "relu6") return Activation::ReLU6;
  throw UserError(where + "activation '" + s + "' is not one of: none, relu, relu6");
}

// An integer attribute; a value that does not fit an int is refused as itself (never
// wrapped: 2^31 must not read as -2^31, nor 2^40 as 0). Shape inference checks the limits.
int read_int(const json& v, const std::string& where, const char* key) {
  if (!v.is_number_integer()) throw UserError(where + "'" + key + "' must be an integer, got " + v.dump());
  const bool fits = v.is_number_unsigned() ? v.get<uint64_t>() <= uint64_t(std::numeric_limits<int>::max())
                                           : v.get<int64_t>() >= std::numeric_limits<int>::min() &&
                                                 v.get<int64_t>() <= std::numeric_limits<int>::max();
  if (!fits)
    throw UserError(where + "'" + key + "' is " + v.dump() + ", far beyond what a layer can have (dimensions at most " +
                    std::to_string(Graph::kMaxDim) + ", windows at most " + std::to_string(Graph::kMaxWindow) + ")");
  return int(v.get<int64_t>());
}

// Reads [a, b] or a single integer a (meaning [a, a]).
void read_pair(const json& v, int& a, int& b, const std::string& where, const char* key) {
  if (v.is_number_integer()) {
    a = b = read_int(v, where, key);
  } else if (v.is_array() && v.size() == 2 && v[0].is_number_integer() &&
             v[1].is_number_integer()) {
    a = read_int(v[0], where, key), b = read_int(v[1], where, key);
  } else {
    throw UserError(where + "'" + key + "' must be an integer or [height, width], got " + v.dump());
  }
}

}  // namespace

Graph graph_from_json_checked(const json& j, const std::string& where);

json graph_to_json(const Graph& g) {
  json j;
  j["format"] = "mcuprune-model";
  j["version"] = 1;
  j["name"] = g.name;
  j["layout"] = "HWC";
  auto& nodes = j["nodes"] = json::array();
  for (const Node& n : g.nodes) {
    json o;
    o["name"] = n.name;
    o["op"] = op_kind_name(n.kind);
    if (n.kind == OpKind::Input) {
      o["shape"] = {n.out.h, n.out.w, n.out.c};
    } else {
      auto& ins = o["inputs"] = json::array();
      for (int i : n.inputs) ins.push_back(g.nodes[i].name);
    }
    if (n.kind == OpKind::Conv2D || n.kind == OpKind::Dense) o["out_channels"] = n.out_channels;
    if (n.kind == OpKind::DepthwiseConv2D) o["depth_multiplier"] = n.depth_multiplier;
    if (has_window(n.kind)) {
      o["kernel"] = {n.kernel_h, n.kernel_w};
      o["stride"] = {n.stride_h, n.stride_w};
      o["padding"] = padding_name(n.padding);
      if (n.padding == Padding::Explicit)
        o["pads"] = {n.pad_top, n.pad_bottom, n.pad_left, n.pad_right};
    }
    if (is_conv(n.kind)) o["dilation"] = {n.dilation_h, n.dilation_w};
    if (has_weights(n.kind)) o["bias"] = n.use_bias;
    if ((has_weights(n.kind) || n.kind == OpKind::Add) && n.activation != Activation::None)
      o["activation"] = activation_name(n.activation);
    if (n.kind == OpKind::BatchNorm) o["epsilon"] = n.bn_epsilon;
    if (n.kind == OpKind::Dropout) o["rate"] = n.dropout_rate;
    if (n.kind == OpKind::Mfcc) {
      const MfccParams& m = n.mfcc;
      o["sample_rate"] = m.sample_rate, o["clip_samples"] = m.clip_samples, o["window"] = m.window;
      o["stride"] = m.stride, o["fft"] = m.fft, o["mel_bins"] = m.mel_bins, o["lower_hz"] = m.lower_hz;
      o["upper_hz"] = m.upper_hz, o["coefficients"] = m.coefficients, o["log_offset"] = m.log_offset;
    }
    nodes.push_back(o);
  }
  j["output"] = g.nodes.at(g.output).name;
  if (!g.normalization.empty())
    j["input_normalization"] = {{"mean", g.normalization.mean}, {"std", g.normalization.stddev}};
  if (!g.class_names.empty()) j["class_names"] = g.class_names;
  if (!g.onnx_io.empty())
    j["onnx_interface"] = {{"input", g.onnx_io.input},
                           {"output", g.onnx_io.output},
                           {"input_layout", g.onnx_io.input_nhwc ? "NHWC" : "NCHW"}};
  return j;
}

Graph graph_from_json(const json& j, const std::string& where) {
  try {
    return graph_from_json_checked(j, where);
  } catch (const json::exception& e) {
    throw UserError("'" + where + "': malformed model file: " + e.what());
  }
}

Graph graph_from_json_checked(const json& j, const std::string& where) {
  const std::string file = "'" + where + "': ";
  if (!j.is_object()) throw UserError(file + "expected a JSON object");
  static const std::set<std::string> top_keys = {"format", "version", "name", "layout", "nodes",
                                                 "output", "input_normalization", "class_names",
                                                 "onnx_interface"};
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!top_keys.count(it.key()))
      throw UserError(file + "unknown top-level key '" + it.key() +
                      "'; allowed: class_names, format, input_normalization, layout, name, "
                      "nodes, onnx_interface, output, version");
  if (!j.contains("format") || j["format"] != "mcuprune-model")
    throw UserError(file + "not an mcuprune model (\"format\" must be \"mcuprune-model\")");
  if (!j.contains("version") || !j["version"].is_number_integer() || j["version"] != 1)
    throw UserError(file + "unsupported model format version " +
                    (j.contains("version") ? j["version"].dump() : std::string("(missing)")) +
                    "; this mcuprune reads version 1");
  if (j.contains("layout") && j["layout"] != "HWC")
    throw UserError(file + "layout must be \"HWC\"");
  if (j.contains("name") && !j["name"].is_string())
    throw UserError(file + "\"name\" must be a string");
  if (!j.contains("nodes") || !j["nodes"].is_array() || j["nodes"].empty())
    throw UserError(file + "\"nodes\" must be a non-empty array");
  Graph g;
  g.name = j.value("name", "model");
  std::map<std::string, int> index;
  int k = 0;
  for (const json& o : j["nodes"]) {
    const std::string at = file + "node #" + std::to_string(k) + ": ";
    if (!o.is_object() || !o.contains("op") || !o["op"].is_string() || !o.contains("name") ||
        !o["name"].is_string())
      throw UserError(at + "each node needs string \"name\" and \"op\" fields");
    Node n;
    n.name = o["name"].get<std::string>();
    const std::string wn = file + "node '" + n.name + "': ";
    try {
      n.kind = op_kind_from_name(o["op"].get<std::string>());
    } catch (const UserError& e) {
      throw UserError(wn + e.what());
    }
    auto allowed = allowed_keys(n.kind);
    for (auto it = o.begin(); it != o.end(); ++it)
      if (!allowed.count(it.key())) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        throw UserError(wn + "unknown key '" + it.key() + "' for op " + op_kind_name(n.kind) +
                        "; allowed: " + list);
      }
    try {
      if (n.kind == OpKind::Input) {
        const json& s = o.at("shape");
        if (!s.is_array() || s.size() != 3) throw UserError(wn + "shape must be [height, width, channels]");
        n.out = {read_int(s[0], wn, "shape"), read_int(s[1], wn, "shape"), read_int(s[2], wn, "shape")};
      } else {
        if (!o.contains("inputs") || !o["inputs"].is_array())
          throw UserError(wn + "\"inputs\" must be an array of node names");
        for (const json& in : o["inputs"]) {
          if (!in.is_string()) throw UserError(wn + "inputs must be node names (strings)");
          auto f = index.find(in.get<std::string>());
          if (f == index.end())
            throw UserError(wn + "input '" + in.get<std::string>() +
                            "' is not an earlier node (nodes must be listed in topological order)");
          n.inputs.push_back(f->second);
        }
      }
      for (const char* key : {"out_channels", "depth_multiplier"})
        if (o.contains(key) && !o[key].is_number_integer())
          throw UserError(wn + "'" + key + "' must be an integer, got " + o[key].dump());
      if (o.contains("out_channels")) n.out_channels = read_int(o["out_channels"], wn, "out_channels");
      else if (n.kind == OpKind::Conv2D || n.kind == OpKind::Dense)
        throw UserError(wn + "missing \"out_channels\"");
      if (o.contains("depth_multiplier")) n.depth_multiplier = read_int(o["depth_multiplier"], wn, "depth_multiplier");
      if (has_window(n.kind)) {
        if (!o.contains("kernel")) throw UserError(wn + "missing \"kernel\"");
        read_pair(o["kernel"], n.kernel_h, n.kernel_w, wn, "kernel");
        if (o.contains("stride")) read_pair(o["stride"], n.stride_h, n.stride_w, wn, "stride");
        n.padding = padding_from(o.value("padding", "valid"), wn);
        if (n.padding == Padding::Explicit) {
          const json& p = o.at("pads");
          if (!p.is_array() || p.size() != 4) throw UserError(wn + "pads must be [top, bottom, left, right]");
          n.pad_top = read_int(p[0], wn, "pads"), n.pad_bottom = read_int(p[1], wn, "pads");
          n.pad_left = read_int(p[2], wn, "pads"), n.pad_right = read_int(p[3], wn, "pads");
        } else if (o.contains("pads")) {
          throw UserError(wn + "\"pads\" is only allowed with padding \"explicit\"");
        }
      }
      if (o.contains("dilation")) read_pair(o["dilation"], n.dilation_h, n.dilation_w, wn, "dilation");
      if (o.contains("bias")) n.use_bias = o["bias"].get<bool>();
      if (o.contains("activation")) n.activation = activation_from(o["activation"].get<std::string>(), wn);
      if (o.contains("epsilon")) {
        // Stored as float32: a value that rounds to 0 or overflows is refused as given.
        const double eps = o["epsilon"].get<double>();
        if (!(eps > 0) || eps < double(std::numeric_limits<float>::min()) || eps > 1e6)
          throw UserError(wn + "epsilon " + o["epsilon"].dump() + " must be a number from 1.2e-38 (the smallest "
                          "normal float32) to 1e6; 1e-5 is usual");
        n.bn_epsilon = float(eps);
      }
      if (o.contains("rate")) n.dropout_rate = o["rate"].get<float>();
      if (n.kind == OpKind::Mfcc) {
        // Every parameter is written; one left out keeps its default (MLPerf Tiny's).
        MfccParams& m = n.mfcc;
        for (auto [key, v] : {std::pair<const char*, int*>{"sample_rate", &m.sample_rate}, {"clip_samples", &m.clip_samples},
                              {"window", &m.window}, {"fft", &m.fft}, {"mel_bins", &m.mel_bins}, {"coefficients", &m.coefficients}})
          if (o.contains(key)) *v = read_int(o[key], wn, key);
        if (o.contains("stride")) m.stride = read_int(o["stride"], wn, "stride");
        for (auto [key, v] : {std::pair<const char*, double*>{"lower_hz", &m.lower_hz}, {"upper_hz", &m.upper_hz},
                              {"log_offset", &m.log_offset}})
          if (o.contains(key)) {
            if (!o[key].is_number()) throw UserError(wn + "'" + key + "' must be a number, got " + o[key].dump());
            *v = o[key].get<double>();
          }
      }
    } catch (const json::exception& e) {
      throw UserError(wn + "bad attribute: " + e.what());
    }
    if (index.count(n.name)) throw UserError(wn + "name is used twice; names must be unique");
    index[n.name] = k++;
    g.nodes.push_back(std::move(n));
  }
  if (j.contains("output")) {
    if (!j["output"].is_string()) throw UserError(file + "\"output\" must be a node name");
    auto f = index.find(j["output"].get<std::string>());
    if (f == index.end())
      throw UserError(file + "output '" + j["output"].get<std::string>() + "' is not a node");
    g.output = f->second;
  }
  try {
    g.infer_shapes();
  } catch (const UserError& e) {
    throw UserError(file + e.what());
  }
  if (const std::vector<int> dead = nodes_not_reaching_output(g); !dead.empty())
    throw UserError(file + "node '" + g.nodes[size_t(dead[0])].name + "'" +
                    (dead.size() > 1 ? " (and " + std::to_string(dead.size() - 1) + " other nodes)" : std::string()) +
                    " does not lead to the output '" + g.nodes[size_t(g.output)].name +
                    "'; remove it, or name the real output in \"output\"");
  try {
    if (j.contains("input_normalization")) {
      g.normalization.mean = j["input_normalization"].at("mean").get<std::vector<float>>();
      g.normalization.stddev = j["input_normalization"].at("std").get<std::vector<float>>();
      if (int(g.normalization.mean.size()) != g.input_shape().c ||
          g.normalization.stddev.size() != g.normalization.mean.size())
        throw UserError(file + "input_normalization needs one mean and one std per input channel (" +
                        std::to_string(g.input_shape().c) + ")");
      for (float s : g.normalization.stddev)
        if (!(s > 0)) throw UserError(file + "input_normalization std values must be > 0");
    }
    if (j.contains("class_names")) {
      g.class_names = j["class_names"].get<std::vector<std::string>>();
      const Shape& out = g.output_shape();
      if (int64_t(g.class_names.size()) != out.elements())
        throw UserError(file + "class_names has " + std::to_string(g.class_names.size()) + " names but the output '" +
                        g.nodes[size_t(g.output)].name + "' has " + std::to_string(out.elements()) +
                        " values; give one name per output (or remove class_names)");
    }
  } catch (const json::exception& e) {
    throw UserError(file + "bad input_normalization or class_names: " + e.what());
  }
  if (j.contains("onnx_interface")) {
    const json& o = j["onnx_interface"];
    const std::string what = file + "\"onnx_interface\" ";
    if (!o.is_object()) throw UserError(what + "must be an object {\"input\", \"output\", \"input_layout\"}");
    for (auto it = o.begin(); it != o.end(); ++it)
      if (it.key() != "input" && it.key() != "output" && it.key() != "input_layout")
        throw UserError(what + "has an unknown key '" + it.key() + "'; allowed: input, input_layout, output");
    for (const char* k : {"input", "output"})
      if (!o.contains(k) || !o[k].is_string() || o[k].get<std::string>().empty())
        throw UserError(what + "needs a non-empty string \"" + k + "\" (the ONNX value name)");
    g.onnx_io.input = o["input"].get<std::string>();
    g.onnx_io.output = o["output"].get<std::string>();
    if (g.onnx_io.input == g.onnx_io.output) throw UserError(what + "input and output names must differ");
    const std::string layout = o.value("input_layout", std::string("NCHW"));
    if (layout != "NCHW" && layout != "NHWC") throw UserError(what + "input_layout must be \"NCHW\" or \"NHWC\"");
    g.onnx_io.input_nhwc = layout == "NHWC";
  }
  return g;
}

void save_graph(const std::string& path, const Graph& g) {
  write_file_atomic(path, graph_to_json(g).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

json parse_json_text(const std::string& text, const std::string& where) {
  // A key given twice in one object would silently take its last value: refused.
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  json::parser_callback_t check = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) open_objects.emplace_back();
    else if (event == json::parse_event_t::object_end && !open_objects.empty()) open_objects.pop_back();
    else if (event == json::parse_event_t::key && !open_objects.empty() &&
             !open_objects.back().insert(parsed.get<std::string>()).second && duplicate.empty())
      duplicate = parsed.get<std::string>();
    return true;
  };
  json j;
  try {
    j = json::parse(text, check);
  } catch (const json::exception& e) {
    throw UserError("'" + where + "' is not valid JSON: " + e.what());
  }
  if (!duplicate.empty())
    throw UserError("'" + where + "': the key \"" + duplicate + "\" appears twice in one object; keep one (JSON readers "
                    "disagree on which one counts)");
  return j;
}

Graph load_graph(const std::string& path) {
  return graph_from_json(parse_json_text(read_file(path), path), path);
}

}  // namespace mcuprune
