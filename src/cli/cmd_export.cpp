// `mcuprune export`: the model as an int8 .tflite (TensorFlow Lite Micro) or as ONNX
// (float, or int8 QDQ), operators in the peak-SRAM-optimal order for the board.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "cli/common.h"
#include "export/c_source.h"
#include "export/onnx.h"
#include "export/order.h"
#include "export/tflite.h"
#include "graph/io.h"
#include "quant/quantize.h"
#include "resources/profile.h"

namespace mcuprune {

namespace {

struct ExportArgs {
  std::string model, format, out, dataset, variant = "float", board = "nucleo-f446re", patch = "auto";
  double patch_max_overhead = 0.2;
  int calibration = 200;
  bool float_io = false, force = false;
};

// A C export is a directory of files: new or empty, or (--force) one that holds only what
// a C export writes, replaced whole.
void write_c_export(OutputDir& dir, const CSource& src, bool force) {
  namespace fs = std::filesystem;
  if (!dir.empty()) {
    if (!force)
      throw UserError("--out '" + dir.path() + "' already exists and is not empty; pass --force to replace it, or "
                      "choose another path");
    dir.begin_replace([&src](const std::string& entry) {
      for (const auto& [name, content] : src.files)
        if (name == entry || name.rfind(entry + "/", 0) == 0) return true;
      return false;
    }, "a C export");
  }
  for (const auto& [name, content] : src.files) write_file_atomic((fs::path(dir.work_path()) / name).string(), content);
  dir.commit();
}

void run_export(const ExportArgs& a) {
  if (!(a.patch_max_overhead >= 0)) throw UserError("--patch-max-overhead must be a number >= 0");
  if (a.float_io && a.format != "tflite") throw UserError("--float-io applies to --format tflite only");
  if (a.format != "onnx" && a.variant != "float")
    throw UserError("--variant applies to --format onnx only (TFLite and C exports are always int8)");
  const Board board = find_board(a.board);
  std::unique_ptr<OutputDir> c_dir;
  if (a.format == "c") c_dir = std::make_unique<OutputDir>(a.out, "--out", "export");
  else refuse_overwrite(a.out, a.force, "--out");
  LoadedModel m = load_model_dir(a.model);
  FoldedModel f = fold_for_inference(m.graph, m.weights);
  // The order (and the summary's peak) for the board's runtime, on the operators this format
  // holds: TFLite writes explicit padding as PAD operators (under a TFLite runtime, the
  // board's or else TFLite Micro's); ONNX and C operators pad themselves.
  ProfileOptions po;
  if (a.format == "tflite" && !find_runtime(board.runtime).tflite_format) po.runtime = "tflm";
  po.native_padding = a.format != "tflite";
  const Profile p = profile_graph(f.graph, board, po);
  const std::vector<int> order = deployment_order(p);
  const std::string desc = std::string("mcuprune ") + kVersion + ": " + m.graph.name;

  std::string bytes, what;
  if (a.format == "c") {
    CSourceOptions co;
    co.patch = a.patch;
    co.patch_max_overhead = a.patch_max_overhead;
    co.board = board;
    const CSource src = export_c(calibrate_int8(m, f, a.dataset, a.calibration), desc, co);
    write_c_export(*c_dir, src, a.force);
    std::printf("wrote %s: C source for the mcuprune runtime (%zu files), %zu operators\n", a.out.c_str(),
                src.files.size(), src.plan.order.size());
    std::printf("%s", patch_plan_summary(src).c_str());
    std::printf("  constants (flash): %s; arena (RAM): %s planned (%s), resource model peak %s\n",
                format_bytes(src.constant_bytes).c_str(), format_bytes(src.plan.arena_bytes).c_str(),
                src.plan.placement.c_str(), format_bytes(src.plan.predicted_peak_bytes).c_str());
    if (src.plan.arena_bytes != src.plan.predicted_peak_bytes)
      std::printf("  note: the planned arena is %lld bytes larger than the peak (fragmentation)\n",
                  (long long)(src.plan.arena_bytes - src.plan.predicted_peak_bytes));
    return;
  }
  if (a.format == "tflite") {
    QuantizedModel q = calibrate_int8(m, f, a.dataset, a.calibration);
    TfliteOptions o;
    o.order = order;
    o.float_io = a.float_io;
    o.description = desc;
    bytes = export_tflite(q, o);
    what = std::string("TFLite int8") + (a.float_io ? " (float32 input/output)" : " (int8 input/output)");
  } else {
    OnnxOptions o;
    o.order = order;
    o.doc = desc;
    if (a.variant == "int8") {
      bytes = export_onnx_qdq(calibrate_int8(m, f, a.dataset, a.calibration), o);
      what = "ONNX opset 13, int8 QDQ (float32 input/output)";
    } else {
      bytes = export_onnx_float(f, o);
      what = "ONNX opset 13, float32";
    }
  }
  write_file_atomic(a.out, bytes);
  std::printf("wrote %s: %s, %s\n", a.out.c_str(), what.c_str(), format_bytes(int64_t(bytes.size())).c_str());
  std::printf("  %s, %zu operators in the peak-optimal order for %s (peak SRAM %s)\n", m.graph.name.c_str(),
              p.deployed.ops.size(), board.name.c_str(), format_bytes(p.optimal.peak_bytes).c_str());
  if (a.format == "tflite")
    std::printf("  resource model: %s of flash (weights and runtime overheads); this file is %s\n",
                format_bytes(p.flash_bytes).c_str(), format_bytes(int64_t(bytes.size())).c_str());
}

}  // namespace

QuantizedModel calibrate_int8(const LoadedModel& m, const FoldedModel& f, const std::string& dataset, int calibration) {
  if (dataset.empty())
    throw UserError("an int8 export needs --dataset to calibrate activation ranges on training samples "
                    "(e.g. --dataset fashion-mnist)");
  LoadOptions lo;
  const Shape& in = m.graph.feature_shape();
  lo.image = {in.h, in.w, in.c};
  audio_task_of_model(m.graph, lo);
  DatasetSplits data = load_dataset(dataset, lo);
  if (data.train.height != in.h || data.train.width != in.w || data.train.channels != in.c)
    throw UserError("dataset '" + dataset + "' has " + std::to_string(data.train.height) + "x" +
                    std::to_string(data.train.width) + "x" + std::to_string(data.train.channels) +
                    " images but the model expects " + in.str() + "; calibrate on the data it was trained on");
  return quantize_model(f, calibration_samples(data.train, calibration, m.graph.normalization));
}

void add_export_command(CLI::App& app) {
  auto a = std::make_shared<ExportArgs>();
  CLI::App* c = app.add_subcommand(
      "export",
      "Export a trained (or pruned) model: int8 TFLite for TensorFlow Lite Micro, ONNX (float,\n"
      "or int8 QDQ), or C source for the mcuprune runtime (runtime/, for any MCU). int8 exports\n"
      "calibrate on --dataset's training samples with the\n"
      "same arithmetic as `mcuprune quantize`. Operators are stored in the order that\n"
      "minimises peak SRAM on --board, so the runtime's peak matches `mcuprune profile`.\n\n"
      "Examples:\n"
      "  mcuprune export --model runs/p --format tflite --dataset fashion-mnist --out model.tflite\n"
      "  mcuprune export --model runs/p --format onnx --out model.onnx\n"
      "  mcuprune export --model runs/p --format c --dataset fashion-mnist --out model_c\n"
      "  mcuprune export --model runs/p --format onnx --variant int8 --dataset fashion-mnist --out model.int8.onnx\n");
  c->add_option("--model", a->model, "model directory (train/prune --out)")->required();
  c->add_option("--format", a->format, "tflite | onnx | c (C source for the mcuprune runtime)")
      ->required()
      ->check(CLI::IsMember({"tflite", "onnx", "c"}));
  c->add_option("--out", a->out, "file to write (written atomically); --format c: a new directory")->required();
  c->add_flag("--force", a->force, "replace an existing --out");
  c->add_option("--dataset", a->dataset, "calibration data for int8 exports (training split)");
  c->add_option("--calibration-samples", a->calibration, "training samples used to calibrate")->capture_default_str();
  c->add_option("--variant", a->variant, "ONNX only: float | int8 (QDQ)")
      ->check(CLI::IsMember({"float", "int8"}))
      ->capture_default_str();
  c->add_option("--board", a->board, "board whose runtime decides the operator order")->capture_default_str();
  c->add_flag("--float-io", a->float_io, "TFLite only: float32 input/output (QUANTIZE/DEQUANTIZE added)");
  c->add_option("--patch", a->patch,
                "C only: the first stage in patches (the runtime executes them): auto (the plan of `profile "
                "--runtime mcuprune --patch auto`), none (layer by layer) or RxC@TENSOR")
      ->capture_default_str();
  c->add_option("--patch-max-overhead", a->patch_max_overhead,
                "C only, --patch auto: the most extra MACs a plan may cost, as a fraction of layer by layer's")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  c->callback([a, c] {
    const bool int8 = a->format != "onnx" || a->variant == "int8";
    for (const char* o : {"--dataset", "--calibration-samples"})
      refuse_without_effect(c, o, int8, "for a float ONNX export (it calibrates int8 exports: tflite, c, onnx --variant int8)");
    for (const char* o : {"--patch", "--patch-max-overhead"})
      refuse_without_effect(c, o, a->format == "c", "for --format " + a->format +
                            " (TFLite Micro and ONNX runtimes run layer by layer; the C runtime runs patches)");
    if (a->calibration < 1) throw UserError("--calibration-samples must be >= 1, got " + std::to_string(a->calibration));
    run_export(*a);
  });
}

}  // namespace mcuprune
