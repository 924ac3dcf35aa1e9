// `mcuprune deploy`: proof that a model fits and runs. Exports it as C for the mcuprune
// runtime, builds it with the deployment harness (firmware/) for the host or as a Cortex-M4
// firmware linked for the board's memory map, runs real test samples (QEMU's mps2-an386
// through semihosting for --emulate), and compares every output with the host's integer
// reference; reports measured flash, RAM and instructions against the resource model.
#include <CLI/CLI.hpp>
#include <array>
#include <cstdio>
#include <cstring>
#include <map>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <sys/wait.h>

#include "cli/common.h"
#include "data/audio.h"
#include "data/mfcc.h"
#include "deploy/firmware.h"
#include "export/c_source.h"
#include "export/embedded.h"
#include "graph/io.h"
#include "quant/fold.h"
#include "quant/quantize.h"
#include "resources/board.h"
#include "resources/profile.h"

namespace mcuprune {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct DeployArgs {
  std::string model, board = "nucleo-f446re", dataset, out, report, patch = "auto";
  double patch_max_overhead = 0.2;
  int samples = 20, calibration = 200, timeout_s = 600;
  bool emulate = false, host = false, portable = false, force = false, no_html = false;
};

void run_deploy(const DeployArgs& a) {
  if (a.emulate == a.host) throw UserError("choose where to run: --emulate (QEMU, Cortex-M4) or --host");
  if (a.samples < 1) throw UserError("--samples must be at least 1");
  if (a.timeout_s < 1) throw UserError("--timeout must be at least 1 second, got " + std::to_string(a.timeout_s));
  refuse_overwrite(a.report, a.force, "--report");
  const Board board = find_board(a.board);
  LoadedModel m = load_model_dir(a.model);
  m.graph.check_classifier_output();  // accuracy is measured on class scores
  if (m.graph.front_end() >= 0 && !is_speech_commands_dir(a.dataset))
    throw UserError("model '" + m.graph.name + "' starts with an audio front end, so the device needs the clips: give "
                    "the audio dataset (a Speech Commands folder), not '" + a.dataset + "'");
  FoldedModel f = fold_for_inference(m.graph, m.weights);
  QuantizedModel q = calibrate_int8(m, f, a.dataset, a.calibration);
  CSourceOptions co;
  co.patch = a.patch;
  co.patch_max_overhead = a.patch_max_overhead;
  co.board = board;
  const CSource src = export_c(q, std::string("mcuprune ") + kVersion + ": " + m.graph.name, co);

  // The work directory: deploy's own default inside the model directory (a previous deploy of
  // this model for this board is replaced), or --out: new, empty, or replaced with --force.
  const bool own_default = a.out.empty();
  std::string out = a.out;
  if (own_default) {
    const std::string leaf = "deploy-" + safe_file_name(board.name) + (a.emulate ? "-qemu" : "-host");
    // Inside a model directory; next to an .onnx file, prefixed with its name.
    out = fs::is_directory(a.model) ? (fs::path(a.model) / leaf).string()
                                    : (fs::path(a.model).parent_path() / (fs::path(a.model).stem().string() + "." + leaf)).string();
  }
  OutputDir work_dir(out, own_default ? "the work directory" : "--out", "deploy");
  if (!work_dir.empty()) {
    if (!own_default && !a.force)
      throw UserError("--out '" + out + "' already exists and is not empty; pass --force to replace it, or choose a "
                      "new directory");
    if (own_default) {  // a previous deploy of this model for this board: replaced in place
      for (const std::string& e : work_dir.entries())
        if (!is_deploy_dir_entry(e))
          throw UserError("the work directory '" + out + "' holds '" + e + "', which deploy did not write; move it "
                          "away or give --out DIR");
      std::error_code ec;
      for (const std::string& e : work_dir.entries()) remove_tree((fs::path(out) / e).string(), ec);
    } else {
      work_dir.begin_replace(is_deploy_dir_entry, "deploy");
    }
  }
  out = work_dir.work_path();
  write_deploy_sources(src, out);

  // Test samples and the reference outputs.
  LoadOptions lo;
  const Shape& is = m.graph.feature_shape();
  lo.image = {is.h, is.w, is.c};
  audio_task_of_model(m.graph, lo);
  lo.limit_test = a.samples;
  DatasetSplits data = load_dataset(a.dataset, lo);
  const int n = int(std::min<size_t>(size_t(a.samples), data.test.size()));
  if (n == 0) throw UserError("dataset '" + a.dataset + "' has no test samples to run");
  std::string inputs(4, '\0');
  std::memcpy(inputs.data(), &n, 4);
  std::vector<std::vector<int8_t>> reference;
  const Int8Interpreter interp(q);
  std::vector<int> labels;
  // A model with the audio front end gets the raw clips (int16); the host computes their
  // features with its own front end (data/mfcc.h), the reference the device's is held to.
  const int fe = q.graph.front_end();  // checked above: its dataset is an audio folder
  std::vector<std::vector<int8_t>> host_features;
  std::unique_ptr<MfccFrontEnd> front_end;
  if (fe >= 0) front_end = std::make_unique<MfccFrontEnd>(q.graph.nodes[size_t(fe)].mfcc);
  for (int k = 0; k < n; ++k) {
    std::vector<int8_t> xq;
    if (fe >= 0) {
      const MfccParams& mp = q.graph.nodes[size_t(fe)].mfcc;
      const std::vector<float> clip = source_clip(a.dataset, data.test.sources[size_t(k)], mp);
      std::vector<int16_t> c16(clip.size());
      std::vector<float> as_read(clip.size()), feat(size_t(mp.frames()) * mp.coefficients);
      for (size_t i = 0; i < clip.size(); ++i) {
        c16[i] = int16_t(std::lround(std::clamp(clip[i] * 32768.0f, -32768.0f, 32767.0f)));
        as_read[i] = float(c16[i]) / 32768.0f;
      }
      front_end->compute(as_read.data(), feat.data());
      const InputNormalization& nz = f.graph.normalization;
      for (float v : feat) xq.push_back(q.activations[size_t(fe)].quantize(nz.empty() ? v : (v - nz.mean[0]) / nz.stddev[0]));
      inputs.append(reinterpret_cast<const char*>(c16.data()), c16.size() * 2);
      host_features.push_back(xq);
    } else {
      for (float v : normalised_sample(data.test, size_t(k), f.graph.normalization)) xq.push_back(q.activations[0].quantize(v));
      inputs.append(reinterpret_cast<const char*>(xq.data()), xq.size());
    }
    reference.push_back(interp.forward(xq)[size_t(q.graph.output)]);
    labels.push_back(int(data.test.labels[size_t(k)]));
  }
  write_file_atomic((fs::path(out) / "inputs.bin").string(), inputs);

  const BuiltProgram prog = build_deploy_program(src, out, board, a.emulate, a.portable, a.timeout_s);
  json measured;
  if (a.emulate) {
    measured["flash"] = {{"model_bytes", prog.model_flash_bytes}, {"code_bytes", prog.code_bytes},
                         {"total_bytes", prog.model_flash_bytes + prog.code_bytes}};
    measured["ram"] = {{"model_bytes", prog.model_ram_bytes}, {"app_data_bytes", prog.app_data_bytes}};
  }
  const HarnessRun hr = run_deploy_program(prog, out, a.emulate);
  const int ran = hr.samples, status = hr.status;
  if (ran != n)
    throw UserError(std::string(a.emulate ? "the emulated firmware" : "the host program") + " ran " + std::to_string(ran) +
                    " of " + std::to_string(n) + " samples; see " + out);
  const int64_t ticks = hr.ticks, stack = hr.stack_bytes;
  if (status != 0) throw UserError("model_invoke returned " + std::to_string(status) + " on the device");
  std::ifstream of(fs::path(out) / "outputs.bin", std::ios::binary);
  std::string outputs((std::istreambuf_iterator<char>(of)), std::istreambuf_iterator<char>());
  const size_t osz = reference.empty() ? 0 : reference[0].size();
  if (outputs.size() != size_t(ran) * osz)
    throw UserError("outputs.bin holds " + std::to_string(outputs.size()) + " bytes, " + std::to_string(size_t(ran) * osz) +
                    " expected for " + std::to_string(ran) + " outputs; see " + out);
  int exact = 0, correct = 0, max_diff = 0, same_class = 0;
  for (int k = 0; k < ran && size_t(k + 1) * osz <= outputs.size(); ++k) {
    bool same = true;
    int best = 0, host_best = 0;
    for (size_t j = 0; j < osz; ++j) {
      const int8_t v = int8_t(outputs[size_t(k) * osz + j]);
      max_diff = std::max(max_diff, std::abs(int(v) - int(reference[size_t(k)][j])));
      same = same && v == reference[size_t(k)][j];
      if (v > int8_t(outputs[size_t(k) * osz + size_t(best)])) best = int(j);
      if (reference[size_t(k)][j] > reference[size_t(k)][size_t(host_best)]) host_best = int(j);
    }
    exact += same;
    correct += best == labels[size_t(k)];
    same_class += best == host_best;
  }
  // The front end: the device's int8 features against the host's (features.bin).
  json front_end_check = nullptr;
  if (fe >= 0) {
    std::ifstream ff(fs::path(out) / "features.bin", std::ios::binary);
    const std::string fb((std::istreambuf_iterator<char>(ff)), std::istreambuf_iterator<char>());
    const size_t per = host_features.empty() ? 0 : host_features[0].size();
    if (fb.size() != size_t(ran) * per)
      throw UserError("features.bin holds " + std::to_string(fb.size()) + " bytes, " + std::to_string(size_t(ran) * per) +
                      " expected; see " + out);
    int64_t equal = 0, worst = 0;
    for (int k = 0; k < ran; ++k)
      for (size_t j = 0; j < per; ++j) {
        const int d = std::abs(int(int8_t(fb[size_t(k) * per + j])) - int(host_features[size_t(k)][j]));
        equal += d == 0;
        worst = std::max<int64_t>(worst, d);
      }
    const double share = ran ? double(equal) / double(int64_t(ran) * int64_t(per)) : 0.0;
    const double class_share = ran ? double(same_class) / ran : 0.0;
    front_end_check = {{"feature_values", int64_t(ran) * int64_t(per)}, {"feature_values_equal", equal},
                       {"feature_equal_share", share}, {"largest_feature_step", worst},
                       {"same_class_share", class_share},
                       {"tolerance", "at least 99% of int8 features equal, none more than one step off, the same class "
                                     "on at least 99% of clips"},
                       {"within_tolerance", share >= 0.99 && worst <= 1 && class_share >= 0.99}};
  }

  ProfileOptions popt;
  popt.runtime = "mcuprune";
  popt.patch = a.patch;
  popt.patch_max_overhead = a.patch_max_overhead;
  const Profile p = profile_graph(f.graph, board, popt);
  json report = {{"format", "mcuprune-report"},
                 {"version", 1},
                 {"command", "deploy"},
                 {"mcuprune_version", kVersion},
                 {"model_dir", a.model},
                 {"board", board.name},
                 {"target", a.emulate ? "qemu mps2-an386 (cortex-m4)" : "host"},
                 {"kernels", a.portable ? "portable" : (a.emulate ? "dsp (SMLAD)" : "dsp (emulated intrinsics)")},
                 {"samples", ran},
                 {"bit_exact_samples", exact},
                 {"agreement", ran ? double(exact) / ran : 0.0},
                 {"max_abs_difference", max_diff},
                 {"accuracy", ran ? double(correct) / ran : 0.0},
                 {"front_end", front_end_check},
                 {"predicted",
                  {{"model_constant_bytes", src.constant_bytes},
                   {"arena_bytes", src.plan.arena_bytes},
                   {"peak_sram_bytes", src.plan.predicted_peak_bytes},
                   {"profile_runtime", "mcuprune"},
                   {"profile_flash_bytes", p.flash_bytes},
                   {"profile_ram_bytes", p.ram_bytes()},
                   {"profile_macs", p.macs},
                   {"profile_latency_ms", p.latency_ms},
                   {"profile_instructions", p.instructions},
                   {"patch", profile_to_json(p).at("patch")},
                   {"patch_request", a.patch},
                   {"patch_note", src.patch_note},
                   {"kernel_note", src.kernel_note}}},
                 {"work_dir", out}};
  std::printf("%s on %s: %d test samples, %d bit-exact with the host's integer reference (%.1f%%), accuracy %.1f%%\n",
              m.graph.name.c_str(), a.emulate ? "QEMU mps2-an386 (Cortex-M4)" : "the host", ran, exact,
              ran ? 100.0 * exact / ran : 0.0, ran ? 100.0 * correct / ran : 0.0);
  if (fe >= 0)
    std::printf("  front end (MFCC on the device vs the host's): %.2f%% of %lld int8 features equal, largest difference "
                "%lld step(s); the same class on %.1f%% of the clips: %s\n",
                100 * front_end_check["feature_equal_share"].get<double>(),
                (long long)front_end_check["feature_values"].get<int64_t>(),
                (long long)front_end_check["largest_feature_step"].get<int64_t>(),
                100 * front_end_check["same_class_share"].get<double>(),
                front_end_check["within_tolerance"].get<bool>() ? "within the tolerance (99%, 1 step, 99%)"
                                                                : "OUTSIDE the tolerance (99%, 1 step, 99%)");
  std::printf("%s", patch_plan_summary(src).c_str());
  if (!src.kernel_note.empty()) std::printf("  %s\n", src.kernel_note.c_str());
  if (a.emulate) {
    const double insns = double(ticks) * kInstructionsPerTick / std::max(1, ran);
    measured["ram"]["stack_high_water_bytes"] = stack;
    measured["ram"]["total_bytes"] = measured["ram"]["model_bytes"].get<int64_t>() +
                                     measured["ram"]["app_data_bytes"].get<int64_t>() + stack;
    measured["instructions_per_inference"] = insns;
    measured["instructions_per_mac"] = p.macs > 0 ? insns / double(p.macs) : 0.0;
    // Per operator (op_ticks.bin: uint64 ticks per op in execution order, summed over samples)
    // and per kind: instructions per MAC of the MAC-bound kinds.
    std::map<int, const OpRow*> row_of;
    for (const OpRow& row : p.rows) row_of[row.op] = &row;
    json ops = json::array();
    std::map<std::string, std::pair<double, int64_t>> by_kind;  // instructions, MACs
    for (size_t k = 0; k < src.plan.order.size() && k < hr.op_ticks.size(); ++k) {
      const uint64_t t = hr.op_ticks[k];
      const OpRow* row = row_of.count(src.plan.order[k]) ? row_of[src.plan.order[k]] : nullptr;
      if (!row) continue;
      const double op_insns = double(t) * kInstructionsPerTick / std::max(1, ran);
      ops.push_back({{"name", row->name}, {"kind", row->kind}, {"macs", row->macs}, {"instructions", op_insns}});
      by_kind[row->kind].first += op_insns;
      by_kind[row->kind].second += row->macs;
    }
    measured["operators"] = ops;
    json kinds = json::object();
    for (const auto& [kind, v] : by_kind)
      if (v.second > 0) kinds[kind] = {{"instructions", v.first}, {"macs", v.second}, {"instructions_per_mac", v.first / double(v.second)}};
    measured["instructions_per_mac_by_kind"] = kinds;
    report["measured"] = measured;
    std::printf("  flash: model constants %s (profile --runtime mcuprune predicts %s; the export counted %s), code %s\n",
                format_bytes(measured["flash"]["model_bytes"]).c_str(), format_bytes(p.flash_bytes).c_str(),
                format_bytes(src.constant_bytes).c_str(), format_bytes(measured["flash"]["code_bytes"]).c_str());
    std::printf("  RAM: arena section %s (planned %s, peak SRAM %s), harness data %s, stack high-water %s\n",
                format_bytes(measured["ram"]["model_bytes"]).c_str(), format_bytes(src.plan.arena_bytes).c_str(),
                format_bytes(src.plan.predicted_peak_bytes).c_str(),
                format_bytes(measured["ram"]["app_data_bytes"]).c_str(), format_bytes(stack).c_str());
    std::printf("  instructions per inference: %.0f (%.2f per MAC, %lld MACs); the instruction model of `profile\n"
                "  --runtime mcuprune` predicts %.0f (%+.1f%%). QEMU runs the instruction set, not the board's\n"
                "  timing: cycles on the real core differ (wait states, pipeline)\n",
                insns, p.macs > 0 ? insns / double(p.macs) : 0.0, (long long)p.macs, p.instructions,
                insns > 0 ? 100.0 * (p.instructions - insns) / insns : 0.0);
    measured["instruction_model_error"] = insns > 0 ? (p.instructions - insns) / insns : 0.0;
    for (const auto& [kind, v] : kinds.items())
      std::printf("  %-18s %.2f instructions per MAC (%lld MACs)\n", kind.c_str(),
                  v["instructions_per_mac"].get<double>(), (long long)v["macs"].get<int64_t>());
  }
  write_report(a.report.empty() ? (fs::path(out) / "deploy_report.json").string() : a.report, report);
  if (!a.no_html)
    write_run_page(a.report.empty() ? (fs::path(out) / "deploy_report.json").string() : a.report, report, a.model,
                   (fs::path(out) / "report.html").string());
  work_dir.commit();
  out = work_dir.path();
  const std::string report_path = a.report.empty() ? (fs::path(out) / "deploy_report.json").string() : a.report;
  std::printf("  work directory: %s\n", out.c_str());
  std::printf("  report: %s%s\n", report_path.c_str(), a.no_html ? "" : (" (page: " + (fs::path(out) / "report.html").string() + ")").c_str());
  if (exact != ran)
    throw UserError(std::to_string(ran - exact) + " of " + std::to_string(ran) +
                    " outputs differ from the host's integer reference (largest difference " +
                    std::to_string(max_diff) + "); see " + out);
}

}  // namespace

void add_deploy_command(CLI::App& app) {
  auto a = std::make_shared<DeployArgs>();
  CLI::App* c = app.add_subcommand(
      "deploy",
      "Prove that a model fits and runs: export it as C for the mcuprune runtime, build it with a\n"
      "test harness (for the host, or as a Cortex-M4 firmware linked for --board's flash and\n"
      "RAM budgets: a model that does not fit fails to link, with the overflow named), run\n"
      "--samples real test samples (QEMU mps2-an386 with --emulate) and compare every output\n"
      "with the host's integer reference. Reports measured flash, RAM (arena, data, stack\n"
      "high-water mark) and instructions per inference against the resource model.\n\n"
      "Examples:\n"
      "  mcuprune deploy --model runs/p --board nucleo-f446re --dataset fashion-mnist --emulate\n"
      "  mcuprune deploy --model runs/p --dataset fashion-mnist --host --samples 100\n");
  c->add_option("--model", a->model, "model directory (train/prune --out)")->required();
  c->add_option("--board", a->board, "board whose memory map the firmware is linked for")->capture_default_str();
  c->add_option("--dataset", a->dataset, "calibration (training split) and test samples")->required();
  c->add_option("--samples", a->samples, "test samples to run")->capture_default_str();
  c->add_option("--calibration-samples", a->calibration, "training samples used to calibrate")->capture_default_str();
  c->add_flag("--emulate", a->emulate, "build a Cortex-M4 firmware and run it in QEMU (mps2-an386)");
  c->add_flag("--host", a->host, "build the exported C for this machine and run it");
  c->add_flag("--portable", a->portable, "portable kernels only (no DSP/SMLAD path)");
  c->add_option("--out", a->out, "work directory (default: MODEL/deploy-BOARD-qemu or -host, replaced)");
  c->add_option("--report", a->report, "report file (default: the work directory's deploy_report.json)");
  c->add_option("--timeout", a->timeout_s, "seconds the run may take")->capture_default_str();
  c->add_option("--patch", a->patch,
                "the first stage in patches: auto (the plan of `profile --runtime mcuprune --patch auto`), none "
                "(layer by layer) or RxC@TENSOR")
      ->capture_default_str();
  c->add_option("--patch-max-overhead", a->patch_max_overhead,
                "--patch auto: the most extra MACs a plan may cost, as a fraction of layer by layer's")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  c->add_flag("--force", a->force, "replace an existing --out directory or --report file");
  c->add_flag("--no-html", a->no_html, "no report.html in the work directory (the page of the report)");
  c->callback([a] { run_deploy(*a); });
}

}  // namespace mcuprune
