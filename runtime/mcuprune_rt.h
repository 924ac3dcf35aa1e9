/* mcuprune runtime: int8 inference of a model exported by `mcuprune export --format c`.
 *
 * Plain C99, no malloc, no OS: one static arena that the exporter sized and planned (every
 * tensor has a fixed offset in it), operators run in the exported order, each by its kernel
 * in kernels/. The arithmetic is TensorFlow Lite's int8 arithmetic; the same kernels are
 * mcuprune's integer reference on the host, so the device computes exactly what
 * `mcuprune quantize` measured.
 *
 * Build: compile every .c file of this directory and of kernels/ with -std=c99 and
 * -ffp-contract=off (the softmax and concat rescales use float arithmetic; a fused
 * multiply-add would change rounding). Define MP_USE_DSP to use the Cortex-M4/M7 DSP
 * instructions (dual 16-bit MACs) where the compiler targets them (__ARM_FEATURE_DSP); define
 * MP_EMULATE_DSP to run that path on any host through portable emulations of the
 * intrinsics (for tests). Define MP_OP_HOOK to have mp_invoke call the application's
 * void mp_op_hook(int32_t index, int end) around every operator (profiling). */
#ifndef MCUPRUNE_RT_H
#define MCUPRUNE_RT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MP_RUNTIME_VERSION 3

typedef enum {
  MP_OP_CONV = 1,
  MP_OP_DEPTHWISE_CONV = 2,
  MP_OP_FULLY_CONNECTED = 3,
  MP_OP_MAX_POOL = 4,
  MP_OP_AVG_POOL = 5,
  MP_OP_MEAN = 6, /* global average pool */
  MP_OP_ADD = 7,
  MP_OP_CONCAT = 8,
  MP_OP_RESHAPE = 9, /* flatten, dropout: a copy */
  MP_OP_SOFTMAX = 10,
  MP_OP_CLAMP = 11, /* a ReLU/ReLU6 not fused into its producer */
  MP_OP_MFCC = 12   /* the audio front end: int16 clip in (2 bytes per sample), int8 features out */
} mp_op_kind;

/* One operator of a model: its kernel, its parameters (the kernel's params struct) and
 * where its tensors lie in the arena. */
typedef struct {
  mp_op_kind kind;
  const void *params;
  int32_t n_inputs;
  const int32_t *input_offsets; /* byte offsets into the arena */
  int32_t output_offset;
  int32_t scratch_offset; /* the kernel's scratch buffer in the arena, or -1: none (the kernel's
                             scratch-free path; kernels/conv.h says what scratch buys) */
} mp_op;

/* Patch-based execution of the first stage (after MCUNetV2): the model's first n_ops
 * operators form a stage that ends at one tensor, the cut. Its output is split into patches;
 * the stage runs patch by patch, each operator computing only the window of its output that
 * the patch needs, so that only one patch's windows are live at a time. Stage tensors are
 * numbered 0 (the model input) and 1 + k (the output of stage operator k; the last one is the
 * cut). The windows are exported tables: every operator of the stage computes with the same
 * kernel and the same parameters as layer by layer, on window-sized shapes with shifted
 * padding, so the cut holds exactly what layer-by-layer execution computes. */
typedef struct {
  int32_t offset; /* arena offset of the buffer that holds the tensor's window */
  int32_t w, c;   /* the whole tensor's width and channels */
  int32_t whole;  /* 1: the buffer is the whole tensor (a window is a band of full rows) */
} mp_patch_tensor;

typedef struct {
  int32_t n_ops;     /* the model's first n_ops operators form the stage */
  int32_t n_patches;
  const mp_patch_tensor *tensors;    /* n_ops + 1 */
  const int32_t *op_inputs;          /* the stage operators' inputs, in order: tensor numbers */
  const int16_t *windows;            /* [patch][n_ops + 1][4]: first row, last row, first column,
                                        last column of each tensor's window (inclusive) */
  int32_t cut_offset;                /* the whole cut: each patch's window is copied into it
                                        when the cut's window buffer is not whole */
} mp_patch_plan;

typedef struct {
  const char *name;
  const mp_op *ops;
  int32_t n_ops;
  int32_t arena_bytes; /* the arena mp_invoke needs */
  int32_t input_offset, input_bytes;
  int32_t output_offset, output_bytes;
  float input_scale, output_scale; /* real = scale * (q - zero_point) */
  int32_t input_zero_point, output_zero_point;
  const mp_patch_plan *patch; /* NULL: every operator runs layer by layer */
} mp_model;

typedef enum {
  MP_OK = 0,
  MP_ERROR_ARENA_TOO_SMALL = 1,
  MP_ERROR_BAD_MODEL = 2
} mp_status;

/* Runs the model on one int8 input (input_bytes values, HWC; for a model that starts with the
 * audio front end, the raw clip as int16 values in input_bytes bytes) and writes output_bytes int8
 * values. `arena` holds arena_bytes bytes (no alignment needed: the kernels read bytes and
 * the int32 tables live in flash). */
mp_status mp_invoke(const mp_model *m, int8_t *arena, int32_t arena_bytes, const int8_t *input, int8_t *output);

#ifdef MP_COUNT_MACS
/* With MP_COUNT_MACS defined, mp_invoke adds the multiply-accumulates of every conv,
 * depthwise and dense operator it runs (padded taps included, as the resource model counts
 * them; a patch stage's operators over the windows they compute) to this counter. */
extern int64_t mp_macs_counted;
#endif

/* Runs one operator on tensors given by pointer (the host's integer reference uses this);
 * `scratch`: NULL or the kernel's scratch buffer (mp_op_scratch_bytes(op) bytes). */
mp_status mp_run_op(const mp_op *op, const int8_t *const *inputs, int8_t *output, int8_t *scratch);
/* The scratch op's kernel runs faster with (0: it has no use for any). */
int32_t mp_op_scratch_bytes(const mp_op *op);

/* Float <-> int8 with the model's input and output parameters (round half away from zero,
 * saturating), for applications that hold float data. */
void mp_quantize(const float *x, int32_t n, float scale, int32_t zero_point, int8_t *q);
void mp_dequantize(const int8_t *q, int32_t n, float scale, int32_t zero_point, float *x);

#ifdef __cplusplus
}
#endif

#endif
