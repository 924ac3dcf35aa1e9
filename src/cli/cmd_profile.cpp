// `mcuprune profile` (what a model costs on a board) and `mcuprune boards`.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/common.h"
#include "resources/profile.h"

namespace mcuprune {

using nlohmann::json;

namespace {

struct ProfileArgs {
  ModelSpec model;
  std::string board = "nucleo-f446re", order = "optimal", runtime;
  std::string reserve_ram, reserve_flash, patch, html;  // patch empty: auto where the runtime runs patches
  double patch_max_overhead = 0.2;
  BudgetOptions budgets;
  bool inplace_add = false, json_out = false, no_timeline = false;
};

void run_profile(const ProfileArgs& a) {
  LoadedModel m = resolve_model(a.model, nullptr);
  Board board = find_board(a.board);
  if (!a.reserve_ram.empty()) board.reserved_ram_bytes = parse_size(a.reserve_ram, "--reserve-ram", true);
  if (!a.reserve_flash.empty())
    board.reserved_flash_bytes = parse_size(a.reserve_flash, "--reserve-flash", true);
  if (board.reserved_ram_bytes >= board.sram_bytes || board.reserved_flash_bytes >= board.flash_bytes)
    throw UserError("--reserve-ram/--reserve-flash must be less than the board's SRAM (" +
                    format_bytes(board.sram_bytes) + ") and flash (" +
                    format_bytes(board.flash_bytes) + ")");
  ProfileOptions o;
  o.optimal_order = a.order == "optimal";
  o.inplace_add = a.inplace_add;
  o.runtime = a.runtime;
  o.budgets = parse_budgets(a.budgets);
  o.patch = !a.patch.empty() ? a.patch
            : find_runtime(a.runtime.empty() ? board.runtime : a.runtime).patch_execution ? "auto" : "none";
  o.patch_max_overhead = a.patch_max_overhead;
  Profile p = profile_graph(m.graph, board, o);
  if (!a.html.empty()) {
    // The page shows the memory timeline under both orders (layer by layer under the given one).
    ProfileOptions og = o, oo = o;
    og.optimal_order = false;
    og.patch = "none";
    oo.optimal_order = true;
    const Profile given = profile_graph(m.graph, board, og);
    const Profile optimal = o.optimal_order ? p : profile_graph(m.graph, board, oo);
    write_profile_page(a.html, p, given, optimal);
    std::fprintf(stderr, "page written to %s\n", a.html.c_str());
  }
  if (a.json_out) {
    std::printf("%s\n", profile_to_json(p).dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return;
  }
  std::printf("%s", profile_table(p).c_str());
  if (!a.no_timeline) std::printf("\n%s", memory_timeline(p).c_str());
}

void run_boards(bool json_out) {
  if (json_out) {
    json list = json::array();
    for (const Board& b : builtin_boards()) list.push_back(board_to_json(b));
    std::printf("%s\n", list.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return;
  }
  std::printf("%-20s %-14s %5s %9s %9s %11s %11s  %s\n", "name", "core", "MHz", "SRAM", "flash",
              "RAM budget", "flash budg.", "memory");
  for (const Board& b : builtin_boards())
    std::printf("%-20s %-14s %5.0f %9s %9s %11s %11s  %s\n", b.name.c_str(), b.core.c_str(),
                b.clock_mhz, format_bytes(b.sram_bytes).c_str(), format_bytes(b.flash_bytes).c_str(),
                format_bytes(b.ram_budget_bytes()).c_str(),
                format_bytes(b.flash_budget_bytes()).c_str(), b.memory_note.c_str());
  std::printf("\nBudgets = memory minus what the application reserves (reserved_ram_bytes, "
              "reserved_flash_bytes).\nA custom board is a JSON file (see docs/resources.md); "
              "'mcuprune boards --json' shows every field.\n");
}

}  // namespace

void add_profile_command(CLI::App& app) {
  auto args = std::make_shared<ProfileArgs>();
  CLI::App* c = app.add_subcommand(
      "profile",
      "What a model costs on a microcontroller: flash, MACs, latency and peak SRAM per operator,\n"
      "under the given and the memory-optimal operator order, against the board's budgets.\n\n"
      "Examples:\n"
      "  mcuprune profile --model resnet8 --input 32x32x3 --board nucleo-f446re\n"
      "  mcuprune profile --model runs/tiny --board rp2040 --order given --json\n"
      "  mcuprune profile --model mobilenetv2 --input 32x32x3 --ram 64KiB --flash 256KiB --macs 5M\n"
      "  mcuprune profile --model vgg --runtime mcuprune --patch auto     # first stage in patches\n"
      "  mcuprune profile --model vgg --runtime mcuprune --patch 4x4@pool1\n");
  c->add_option("--model", args->model.model, "zoo name, model directory or .json file")->required();
  c->add_option("--input", args->model.input, "input shape HxWxC for zoo models (default 28x28x1)");
  c->add_option("--classes", args->model.classes, "classes for zoo models (default 10)");
  check_width(c->add_option("--width", args->model.width, "width multiplier for zoo models"));
  c->add_option("--depth", args->model.depth, "vgg depth");
  c->add_option("--board", args->board, "board name (see 'mcuprune boards') or board JSON file")
      ->capture_default_str();
  c->add_option("--order", args->order, "operator order: given or optimal")
      ->check(CLI::IsMember({"given", "optimal"}))
      ->capture_default_str();
  c->add_option("--runtime", args->runtime, "cmsis-nn, reference, tflm, tflm-cmsis-nn or mcuprune (default: the board's)");
  c->add_flag("--inplace-add", args->inplace_add, "ADD writes over an input that dies there");
  c->add_option("--patch", args->patch,
                "patch-based execution of the first stage: none, auto (lowest peak within "
                "--patch-max-overhead) or RxC@TENSOR (a grid of R x C patches of the stage ending at TENSOR); "
                "runtime mcuprune only (default: auto where the runtime runs patches, else none)");
  c->add_option("--patch-max-overhead", args->patch_max_overhead,
                "--patch auto: the most extra MACs a plan may cost, as a fraction of layer by layer's")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  c->add_option("--reserve-ram", args->reserve_ram, "RAM the application keeps (default: the board's)");
  c->add_option("--reserve-flash", args->reserve_flash, "flash the application keeps (default: the board's)");
  add_budget_options(c, args->budgets, "RAM budget in bytes, KiB or MiB (e.g. 64KiB) instead of the board's");
  c->add_flag("--json", args->json_out, "machine-readable output (docs/resources.md)");
  c->add_flag("--no-timeline", args->no_timeline, "omit the memory timeline");
  c->add_option("--html", args->html, "also write the profile as a self-contained HTML page (docs/reports.md)");
  c->callback([args, c] {
    if (c->get_option("--classes")->count() > 0 && args->model.classes < 1)
      throw UserError("--classes must be at least 1, got " + std::to_string(args->model.classes));
    if (c->get_option("--depth")->count() > 0 && args->model.depth < 1)
      throw UserError("--depth must be 11, 13, 16 or 19 (vgg), got " + std::to_string(args->model.depth));
    refuse_without_effect(c, "--reserve-ram", !args->budgets.ram, "with --ram (the explicit budget replaces the board's RAM budget)");
    refuse_without_effect(c, "--reserve-flash", !args->budgets.flash, "with --flash (the explicit budget replaces the board's flash budget)");
    run_profile(*args);
  });

  auto json_flag = std::make_shared<bool>(false);
  CLI::App* b = app.add_subcommand("boards",
                                   "List the built-in MCU boards.\n\n"
                                   "Examples:\n"
                                   "  mcuprune boards\n"
                                   "  mcuprune boards --json\n");
  b->add_flag("--json", *json_flag, "every field, as JSON");
  b->callback([json_flag] { run_boards(*json_flag); });
}

}  // namespace mcuprune
