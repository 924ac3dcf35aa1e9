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
#include "kernels/mfcc.h"
#include "kernels/pooling.h"
#include "kernels/reshape.h"
#include "kernels/softmax.h"

#define MP_MAX_INPUTS 8

int32_t mp_op_scratch_bytes(const mp_op *op) {
  if (op->kind == MP_OP_CONV) return mp_conv_scratch_bytes((const mp_conv_params *)op->params);
  if (op->kind == MP_OP_DEPTHWISE_CONV)
    return mp_depthwise_conv_scratch_bytes((const mp_depthwise_conv_params *)op->params);
  if (op->kind == MP_OP_FULLY_CONNECTED)
    return mp_fully_connected_scratch_bytes((const mp_fully_connected_params *)op->params);
  return 0;
}

mp_status mp_run_op(const mp_op *op, const int8_t *const *in, int8_t *out, int8_t *scratch) {
  switch (op->kind) {
    case MP_OP_CONV: mp_conv((const mp_conv_params *)op->params, in[0], out, scratch); return MP_OK;
    case MP_OP_DEPTHWISE_CONV:
      mp_depthwise_conv((const mp_depthwise_conv_params *)op->params, in[0], out, scratch);
      return MP_OK;
    case MP_OP_FULLY_CONNECTED:
      mp_fully_connected((const mp_fully_connected_params *)op->params, in[0], out, scratch);
      return MP_OK;
    case MP_OP_MAX_POOL: mp_max_pool((const mp_pool_params *)op->params, in[0], out); return MP_OK;
    case MP_OP_AVG_POOL: mp_avg_pool((const mp_pool_params *)op->params, in[0], out); return MP_OK;
    case MP_OP_MEAN: mp_mean((const mp_mean_params *)op->params, in[0], out); return MP_OK;
    case MP_OP_ADD: mp_add((const mp_add_params *)op->params, in, out); return MP_OK;
    case MP_OP_CONCAT: mp_concat((const mp_concat_params *)op->params, in, out); return MP_OK;
    case MP_OP_RESHAPE: mp_reshape((const mp_reshape_params *)op->params, in[0], out); return MP_OK;
    case MP_OP_SOFTMAX: mp_softmax((const mp_softmax_params *)op->params, in[0], out); return MP_OK;
    case MP_OP_CLAMP: mp_clamp((const mp_clamp_params *)op->params, in[0], out); return MP_OK;
    case MP_OP_MFCC: mp_mfcc((const mp_mfcc_params *)op->params, in[0], out); return MP_OK;
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

/* The sliding-window geometry inside the params of an operator of `kind` (NULL for kinds
 * without one). */
static mp_window *window_in(mp_op_kind kind, void *params) {
  switch (kind) {
    case MP_OP_CONV: return &((mp_conv_params *)params)->win;
    case MP_OP_DEPTHWISE_CONV: return &((mp_depthwise_conv_params *)params)->win;
    case MP_OP_MAX_POOL:
    case MP_OP_AVG_POOL: return &((mp_pool_params *)params)->win;
    default: return 0;
  }
}

#ifdef MP_COUNT_MACS
int64_t mp_macs_counted = 0;

/* The MACs of op as it runs: `k` its (possibly patched) sliding-window geometry. */
static void count_macs(const mp_op *op, const mp_window *k) {
  int64_t pixels = k ? (int64_t)k->out.h * k->out.w * k->kernel_h * k->kernel_w : 0;
  if (op->kind == MP_OP_CONV) mp_macs_counted += pixels * k->in.c * k->out.c;
  if (op->kind == MP_OP_DEPTHWISE_CONV) mp_macs_counted += pixels * k->out.c;
  if (op->kind == MP_OP_FULLY_CONNECTED) {
    const mp_fully_connected_params *f = (const mp_fully_connected_params *)op->params;
    mp_macs_counted += (int64_t)f->in_features * f->out_features;
  }
}
#define MP_COUNT(op, k) count_macs(op, k)
#else
#define MP_COUNT(op, k) ((void)0)
#endif

/* A window of a patch: rows [y0, y1], columns [x0, x1] (inclusive). */
typedef struct {
  int32_t y0, y1, x0, x1;
} mp_win;

static mp_win window_at(const int16_t *w) {
  mp_win r;
  r.y0 = w[0], r.y1 = w[1], r.x0 = w[2], r.x1 = w[3];
  return r;
}

/* Tensor t's window in patch table w. In a whole tensor the window is a band of full rows
 * (its row pitch is the tensor's width), even where the stage reads fewer columns. */
static mp_win tensor_window(const mp_patch_plan *pl, int32_t t, const int16_t *w) {
  mp_win r = window_at(w + t * 4);
  if (pl->tensors[t].whole) r.x0 = 0, r.x1 = pl->tensors[t].w - 1;
  return r;
}

/* Where the window of stage tensor t starts: its buffer, or the band of its rows in the whole
 * tensor. */
static int8_t *window_data(int8_t *arena, const mp_patch_tensor *t, mp_win w) {
  return arena + t->offset + (t->whole ? (int64_t)w.y0 * t->w * t->c : 0);
}

/* Copies window w between a whole HWC tensor (width `w_all`) and a dense window buffer. */
static void copy_window(int8_t *whole, int32_t w_all, int32_t c, mp_win w, int8_t *buf, int into_buffer) {
  const int32_t row = (w.x1 - w.x0 + 1) * c;
  int32_t y;
  for (y = w.y0; y <= w.y1; ++y) {
    int8_t *a = whole + ((int64_t)y * w_all + w.x0) * c, *b = buf + (int64_t)(y - w.y0) * row;
    if (into_buffer)
      memcpy(b, a, (size_t)row);
    else
      memcpy(a, b, (size_t)row);
  }
}

/* The sliding-window geometry of one patch: window-sized shapes, and the padding shifted by
 * where the input's window starts against the output's (negative when the input window holds
 * rows or columns that this operator does not read). */
static mp_window patch_window(mp_window k, mp_win in, mp_win out) {
  k.pad_top += in.y0 - out.y0 * k.stride_h;
  k.pad_left += in.x0 - out.x0 * k.stride_w;
  k.in.h = in.y1 - in.y0 + 1, k.in.w = in.x1 - in.x0 + 1;
  k.out.h = out.y1 - out.y0 + 1, k.out.w = out.x1 - out.x0 + 1;
  return k;
}

/* Runs stage operator `op` on one patch: x[j] is input j's window data (window xw[j]), y the
 * output's (window yw): the operator's kernel through mp_run_op, on a copy of its params
 * with window-sized shapes. Element-wise operators run row by row, since their inputs'
 * windows may be wider than the output's. */
static mp_status run_patch_op(const mp_op *op, const int8_t *const *x, const mp_win *xw, const int32_t *xc, int8_t *y,
                              mp_win yw, int32_t yc, int8_t *scratch) {
  union {
    mp_conv_params conv;
    mp_depthwise_conv_params depthwise;
    mp_pool_params pool;
    mp_add_params add;
    mp_concat_params concat;
    mp_clamp_params clamp;
  } p;
  const int32_t width = yw.x1 - yw.x0 + 1;
  mp_op patched = *op;
  mp_window *k;
  int32_t r, j;
  switch (op->kind) {
    case MP_OP_CONV: p.conv = *(const mp_conv_params *)op->params; break;
    case MP_OP_DEPTHWISE_CONV: p.depthwise = *(const mp_depthwise_conv_params *)op->params; break;
    case MP_OP_MAX_POOL:
    case MP_OP_AVG_POOL: p.pool = *(const mp_pool_params *)op->params; break;
    case MP_OP_ADD: p.add = *(const mp_add_params *)op->params, p.add.size = width * yc; break;
    case MP_OP_CONCAT: p.concat = *(const mp_concat_params *)op->params, p.concat.pixels = width; break;
    case MP_OP_CLAMP: p.clamp = *(const mp_clamp_params *)op->params, p.clamp.size = width * yc; break;
    default: return MP_ERROR_BAD_MODEL; /* not spatially local: never in a stage */
  }
  patched.params = &p;
  if ((k = window_in(op->kind, &p)) != 0) {
    *k = patch_window(*k, xw[0], yw);
    MP_COUNT(op, k);
    return mp_run_op(&patched, x, y, scratch);
  }
  for (r = yw.y0; r <= yw.y1; ++r) {
    const int8_t *row[MP_MAX_INPUTS];
    mp_status s;
    for (j = 0; j < op->n_inputs; ++j)
      row[j] = x[j] + ((int64_t)(r - xw[j].y0) * (xw[j].x1 - xw[j].x0 + 1) + (yw.x0 - xw[j].x0)) * xc[j];
    if ((s = mp_run_op(&patched, row, y + (int64_t)(r - yw.y0) * width * yc, scratch)) != MP_OK) return s;
  }
  return MP_OK;
}

static mp_status run_patch_stage(const mp_model *m, int8_t *arena) {
  const mp_patch_plan *pl = m->patch;
  const int32_t nt = pl->n_ops + 1;
  const mp_patch_tensor *in = &pl->tensors[0], *cut = &pl->tensors[pl->n_ops];
  int32_t patch, k, j;
  if (pl->n_ops < 1 || pl->n_ops > m->n_ops || pl->n_patches < 1) return MP_ERROR_BAD_MODEL;
  for (patch = 0; patch < pl->n_patches; ++patch) {
    const int16_t *w = pl->windows + (int64_t)patch * nt * 4;
    const int32_t *inputs = pl->op_inputs;
    if (!in->whole) copy_window(arena + m->input_offset, in->w, in->c, window_at(w), arena + in->offset, 1);
    for (k = 0; k < pl->n_ops; ++k) {
      const mp_op *op = &m->ops[k];
      const int8_t *x[MP_MAX_INPUTS];
      mp_win xw[MP_MAX_INPUTS];
      int32_t xc[MP_MAX_INPUTS];
      const mp_win yw = tensor_window(pl, k + 1, w);
      mp_status s;
      if (op->n_inputs < 1 || op->n_inputs > MP_MAX_INPUTS) return MP_ERROR_BAD_MODEL;
      for (j = 0; j < op->n_inputs; ++j) {
        const int32_t t = inputs[j];
        if (t < 0 || t > k) return MP_ERROR_BAD_MODEL; /* the input or an earlier stage operator */
        xw[j] = tensor_window(pl, t, w);
        x[j] = window_data(arena, &pl->tensors[t], xw[j]);
        xc[j] = pl->tensors[t].c;
      }
      inputs += op->n_inputs;
      if (yw.y1 < yw.y0 || yw.x1 < yw.x0) continue; /* this patch needs none of it */
      MP_HOOK(k, 0);
      s = run_patch_op(op, x, xw, xc, window_data(arena, &pl->tensors[k + 1], yw), yw, pl->tensors[k + 1].c,
                       op->scratch_offset >= 0 ? arena + op->scratch_offset : 0);
      MP_HOOK(k, 1);
      if (s != MP_OK) return s;
    }
    if (!cut->whole) {
      const mp_win cw = window_at(w + pl->n_ops * 4);
      copy_window(arena + pl->cut_offset, cut->w, cut->c, cw, arena + cut->offset, 0);
    }
  }
  return MP_OK;
}

mp_status mp_invoke(const mp_model *m, int8_t *arena, int32_t arena_bytes, const int8_t *input, int8_t *output) {
  int32_t i = 0, j;
  if (arena_bytes < m->arena_bytes) return MP_ERROR_ARENA_TOO_SMALL;
  memcpy(arena + m->input_offset, input, (size_t)m->input_bytes);
  if (m->patch) {
    const mp_status s = run_patch_stage(m, arena);
    if (s != MP_OK) return s;
    i = m->patch->n_ops;
  }
  for (; i < m->n_ops; ++i) {
    const mp_op *op = &m->ops[i];
    const int8_t *in[MP_MAX_INPUTS];
    mp_status s;
    if (op->n_inputs < 1 || op->n_inputs > MP_MAX_INPUTS) return MP_ERROR_BAD_MODEL;
    for (j = 0; j < op->n_inputs; ++j) in[j] = arena + op->input_offsets[j];
    MP_HOOK(i, 0);
    MP_COUNT(op, window_in(op->kind, (void *)op->params));
    s = mp_run_op(op, in, arena + op->output_offset, op->scratch_offset >= 0 ? arena + op->scratch_offset : 0);
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
