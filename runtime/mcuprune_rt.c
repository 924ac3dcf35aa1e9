/* The interpreter: operators in order over the planned arena. */
#include "mcuprune_rt.h"

#include <math.h>
#include <string.h>

#include "kernels/add.h"
#include "kernels/clamp.h"
#include "kernels/concat.h"
#include "kernels/conv.h"
#include "kernels/depthwise_conv.h"
#include "kernels/fixed_point.h"
#include "kernels/fully_connected.h"
#include "kernels/mean.h"
#include "kernels/pooling.h"
#include "kernels/reshape.h"
#include "kernels/softmax.h"

#define MP_MAX_INPUTS 8

mp_status mp_run_op(const mp_op *op, const int8_t *const *in, int8_t *out) {
  switch (op->kind) {
    case MP_OP_CONV: mp_conv((const mp_conv_params *)op->params, in[0], out); return MP_OK;
    case MP_OP_DEPTHWISE_CONV:
      mp_depthwise_conv((const mp_depthwise_conv_params *)op->params, in[0], out);
      return MP_OK;
    case MP_OP_FULLY_CONNECTED:
      mp_fully_connected((const mp_fully_connected_params *)op->params, in[0], out);
      return MP_OK;
    case MP_OP_MAX_POOL: mp_max_pool((const mp_pool_params *)op->params, in[0], out); return MP_OK;
    case MP_OP_AVG_POOL: mp_avg_pool((const mp_pool_params *)op->params, in[0], out); return MP_OK;
    case MP_OP_MEAN: mp_mean((const mp_mean_params *)op->params, in[0], out); return MP_OK;
    case MP_OP_ADD: mp_add((const mp_add_params *)op->params, in, out); return MP_OK;
    case MP_OP_CONCAT: mp_concat((const mp_concat_params *)op->params, in, out); return MP_OK;
    case MP_OP_RESHAPE: mp_reshape((const mp_reshape_params *)op->params, in[0], out); return MP_OK;
    case MP_OP_SOFTMAX: mp_softmax((const mp_softmax_params *)op->params, in[0], out); return MP_OK;
    case MP_OP_CLAMP: mp_clamp((const mp_clamp_params *)op->params, in[0], out); return MP_OK;
  }
  return MP_ERROR_BAD_MODEL;
}

#ifdef MP_OP_HOOK
/* Defined by the application (e.g. the deploy harness, to count cycles per operator):
 * called before (end = 0) and after (end = 1) operator `index` of the order runs. */
void mp_op_hook(int32_t index, int end);
#define MP_HOOK(i, end) mp_op_hook(i, end)
#else
#define MP_HOOK(i, end) ((void)0)
#endif

mp_status mp_invoke(const mp_model *m, int8_t *arena, int32_t arena_bytes, const int8_t *input, int8_t *output) {
  int32_t i, j;
  if (arena_bytes < m->arena_bytes) return MP_ERROR_ARENA_TOO_SMALL;
  memcpy(arena + m->input_offset, input, (size_t)m->input_bytes);
  for (i = 0; i < m->n_ops; ++i) {
    const mp_op *op = &m->ops[i];
    const int8_t *in[MP_MAX_INPUTS];
    mp_status s;
    if (op->n_inputs < 1 || op->n_inputs > MP_MAX_INPUTS) return MP_ERROR_BAD_MODEL;
    for (j = 0; j < op->n_inputs; ++j) in[j] = arena + op->input_offsets[j];
    MP_HOOK(i, 0);
    s = mp_run_op(op, in, arena + op->output_offset);
    MP_HOOK(i, 1);
    if (s != MP_OK) return s;
  }
  memcpy(output, arena + m->output_offset, (size_t)m->output_bytes);
  return MP_OK;
}

void mp_quantize(const float *x, int32_t n, float scale, int32_t zero_point, int8_t *q) {
  int32_t k;
  for (k = 0; k < n; ++k) {
    float r = x[k] / scale;
    if (!(r == r)) r = 0.0f; /* NaN */
    r = r < -1e6f ? -1e6f : r > 1e6f ? 1e6f : r; /* far beyond the int8 range either way */
    q[k] = mp_clamp8((int32_t)lroundf(r) + zero_point, -128, 127);
  }
}

void mp_dequantize(const int8_t *q, int32_t n, float scale, int32_t zero_point, float *x) {
  int32_t k;
  for (k = 0; k < n; ++k) x[k] = scale * (float)((int32_t)q[k] - zero_point);
}
