/* The deployment harness of `mcuprune deploy`: runs the exported model on the samples of
 * inputs.bin (int32 count, then count inputs of MODEL_INPUT_SIZE int8 values) and writes
 * every output to outputs.bin, then one line of statistics to the console:
 *   MCUPRUNE samples=N status=S ticks=T stack=B
 * On the MCU (MP_SEMIHOSTING) files and console go through Arm semihosting, ticks are
 * SysTick ticks of the processor clock over all inferences, and stack is the stack's
 * high-water mark in bytes; on a host they use stdio and report 0. The ticks of every
 * operator, summed over the samples, go to op_ticks.bin (uint64 each, in execution order);
 * with MP_COUNT_MACS, the MACs run over all samples to macs.bin (int64). A model that starts
 * with the audio front end (MODEL_FEATURES_SIZE defined) reads raw int16 clips and also writes
 * each clip's int8 features to features.bin. */
#include <stdint.h>
#include <string.h>

#include "model.h"
#include "platform.h"

/* The harness's own instrumentation and file staging live outside the board's memory map
 * (section .harness, placed by deploy's linker script beyond the board's SRAM), so that the
 * application RAM the board reserves holds what an application would. */
#define HARNESS_ONLY __attribute__((section(".harness")))
#ifdef MODEL_FEATURES_SIZE
/* A model that starts with the audio front end: its features go to features.bin too (the
 * front end run once more on its own, outside the timed inference). The clip buffer is file
 * staging: the model's own input tensor, the clip in the arena, is what the board holds. */
static int8_t features[MODEL_FEATURES_SIZE] HARNESS_ONLY;
static int8_t input[MODEL_INPUT_SIZE] HARNESS_ONLY;
#else
static int8_t input[MODEL_INPUT_SIZE];
#endif
static int8_t output[MODEL_OUTPUT_SIZE];

#define MAX_PROFILED_OPS 256
static uint64_t op_ticks[MAX_PROFILED_OPS] HARNESS_ONLY;
static uint64_t op_start;

void mp_op_hook(int32_t index, int end) {
  if (index < 0 || index >= MAX_PROFILED_OPS) return;
  if (!end)
    op_start = plat_ticks();
  else
    op_ticks[index] += plat_ticks() - op_start;
}

int main(void) {
  int32_t count = 0, k, status = 0;
  uint64_t ticks = 0;
  long in = plat_open("inputs.bin", 0), out = plat_open("outputs.bin", 1);
#ifdef MODEL_FEATURES_SIZE
  long feat = plat_open("features.bin", 1);
#endif
  if (in < 0 || out < 0 || plat_read(in, &count, 4) != 4 || count < 0) {
    plat_puts("MCUPRUNE error: cannot read inputs.bin or open outputs.bin\n");
    return 2;
  }
  for (k = 0; k < count; ++k) {
    uint64_t t0;
    if (plat_read(in, input, MODEL_INPUT_SIZE) != MODEL_INPUT_SIZE) {
      plat_puts("MCUPRUNE error: inputs.bin is shorter than its count says\n");
      return 2;
    }
    t0 = plat_ticks();
    status = model_invoke(input, output);
    ticks += plat_ticks() - t0;
    if (status != 0) break;
    plat_write(out, output, MODEL_OUTPUT_SIZE);
#ifdef MODEL_FEATURES_SIZE
    {
      const int8_t *ins[1];
      ins[0] = input;
      if (mp_run_op(&mcuprune_model.ops[0], ins, features, 0) != MP_OK) break;
      plat_write(feat, features, MODEL_FEATURES_SIZE);
    }
#endif
  }
  plat_close(in);
  plat_close(out);
#ifdef MODEL_FEATURES_SIZE
  plat_close(feat);
#endif
  {
    long t = plat_open("op_ticks.bin", 1);
    int32_t n_ops = mcuprune_model.n_ops < MAX_PROFILED_OPS ? mcuprune_model.n_ops : MAX_PROFILED_OPS;
    if (t >= 0) {
      plat_write(t, op_ticks, (long)(sizeof(uint64_t) * (unsigned long)n_ops));
      plat_close(t);
    }
  }
#ifdef MP_COUNT_MACS
  {
    long f = plat_open("macs.bin", 1);
    if (f >= 0) {
      plat_write(f, &mp_macs_counted, (long)sizeof mp_macs_counted);
      plat_close(f);
    }
  }
#endif
  {
    char line[160];
    plat_format_stats(line, sizeof line, k, status, ticks, plat_stack_used());
    plat_puts(line);
  }
  return status;
}
