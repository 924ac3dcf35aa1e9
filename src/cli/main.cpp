// mcuprune: entry point. Dispatches subcommands; every user error is printed on one
// line ("mcuprune: error: ...") with a non-zero exit.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>

#include "cli/allocator.h"
#include "cli/common.h"
#include "nn/trainer.h"

namespace {

void on_sigint(int) {
  if (mcuprune::g_stop_requested.exchange(true)) std::_Exit(130);  // second Ctrl-C: now
}

// CLI11 reports an unknown option without listing the valid ones; add them.
std::string valid_options(const CLI::App* app) {
  std::string s;
  for (const CLI::Option* o : app->get_options()) {
    std::string n = o->get_name(false, true);
    if (n.empty() || n[0] != '-') continue;
    s += (s.empty() ? "" : ", ") + o->get_name(false, false);
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  mcuprune::tune_allocator_for_training();  // before the first large allocation
  CLI::App app{
      "mcuprune: differentiable, MCU-aware structured pruning of CNNs for microcontrollers.\n\n"
      "Examples:\n"
      "  mcuprune models\n"
      "  mcuprune train --model tinycnn --dataset fashion-mnist --epochs 2 --out runs/tiny\n"
      "  mcuprune eval --model runs/tiny --dataset fashion-mnist\n"
      "  mcuprune prune --model vgg --dataset fashion-mnist --board nucleo-f446re --epochs 4 --out runs/p\n"
      "  mcuprune profile --model runs/p --board nucleo-f446re\n",
      "mcuprune"};
  app.set_version_flag("--version", mcuprune::kVersion);
  app.require_subcommand(1);
  mcuprune::add_models_command(app);
  mcuprune::add_train_command(app);
  mcuprune::add_eval_command(app);
  mcuprune::add_prune_command(app);
  mcuprune::add_profile_command(app);
  mcuprune::add_quantize_command(app);
  mcuprune::add_export_command(app);
  mcuprune::add_deploy_command(app);
  mcuprune::add_import_command(app);
  mcuprune::add_bench_command(app);
  mcuprune::add_report_command(app);
  mcuprune::add_launch_command(app);
  // No option of mcuprune takes an empty value: `--ram ""` is an error, not "not given".
  for (CLI::App* sub : app.get_subcommands({}))
    for (CLI::Option* o : sub->get_options())
      if (o->get_type_size_max() > 0 && o->get_name(false, true).rfind("--help", 0) != 0)
        o->check(CLI::Validator(
            [](std::string& value) -> std::string {
              return value.find_first_not_of(" \t") != std::string::npos ? "" : "the value is empty; give one";
            },
            ""));
  std::signal(SIGINT, on_sigint);
  try {
    try {
      app.parse(argc, argv);
    } catch (const CLI::ExtrasError& e) {
      const CLI::App* sub = app.get_subcommands().empty() ? &app : app.get_subcommands()[0];
      std::fprintf(stderr, "mcuprune: error: %s; valid options for '%s': %s\n", e.what(),
                   sub->get_name().empty() ? "mcuprune" : sub->get_name().c_str(),
                   valid_options(sub).c_str());
      return 2;
    } catch (const CLI::RequiredError& e) {
      if (app.get_subcommands().empty()) {
        std::string names;
        for (const CLI::App* s : app.get_subcommands({}))
          names += (names.empty() ? "" : ", ") + s->get_name();
        std::fprintf(stderr, "mcuprune: error: give a command: %s (see mcuprune --help)\n",
                     names.c_str());
        return 2;
      }
      return app.exit(e);
    } catch (const CLI::ArgumentMismatch& e) {
      // "--epochs: At Most 1 required but received 2": the option was given twice.
      const std::string what = e.what();
      const size_t colon = what.find(':');
      if (what.find("At Most 1 required") != std::string::npos && colon != std::string::npos) {
        std::fprintf(stderr, "mcuprune: error: %s is given more than once; give it once\n", what.substr(0, colon).c_str());
        return 2;
      }
      std::fprintf(stderr, "mcuprune: error: %s (see mcuprune %s --help)\n", e.what(),
                   app.get_subcommands().empty() ? "" : app.get_subcommands()[0]->get_name().c_str());
      return 2;
    } catch (const CLI::ParseError& e) {
      if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
      std::fprintf(stderr, "mcuprune: error: %s (see mcuprune %s --help)\n", e.what(),
                   app.get_subcommands().empty() ? "" : app.get_subcommands()[0]->get_name().c_str());
      return 2;
    }
  } catch (const mcuprune::UserError& e) {
    std::fprintf(stderr, "mcuprune: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "mcuprune: error: out of memory: the data or model needs more memory than this process can "
                 "allocate; free memory, raise its memory limit, or use fewer samples (--limit-train, --limit-test)\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mcuprune: internal error: %s\n", e.what());
    return 3;
  }
  return mcuprune::g_stop_requested ? 130 : 0;
}
