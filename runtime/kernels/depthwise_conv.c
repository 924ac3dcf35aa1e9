#include "depthwise_conv.h"

#include <stddef.h>

#include "dot.h"
#include "fixed_point.h"

#ifdef MP_DSP
#define MP_DW_GROUP_TAPS 25
/* Depth multiplier 1 with the DSP extension, without scratch: four channels at a time, their
 * weights sign-extended once per group into the halfword pairs of channels (0, 2) and (1, 3)
 * and their requantisation constants hoisted. Per tap, one load of the four inputs, split by
 * SXTB16, and SMLABB / SMLATT per channel. */

/* A 3x3 layer's group of four channels: the nine taps' extended weight pairs, the bias with
 * the input offset folded in (bias + offset * the channel's weight sum: the taps then run on
 * raw inputs), the requantisation constants of mp_requantize_lean_fast with the output zero
 * point folded into the rounding term ((H >> e1) + zp = (H + zp 2^e1) >> e1 exactly; with
 * e1 <= 22 the high word stays inside int32: |H| < 2^30 + 2^(e1-1), |zp 2^e1| <= 2^29), and
 * four copies of the clamp bounds. The assembly below reads it by these offsets. */
typedef struct {
  uint32_t w[9][2];           /* byte 0 */
  int32_t bias[4];            /* 72 */
  int32_t m[4], round[4], e1[4]; /* 88, 104, 120 */
  uint32_t lo4, hi4;          /* 136, 140 */
  int32_t x_next;             /* 144: from a pixel's third window row to the next pixel's first */
  int8_t *y_end;              /* 148 on the core: where a run of pixels stops */
} dw3x3_group;
/* the offsets above, checked where the assembly runs (32-bit pointers) */
typedef char dw3x3_group_layout[sizeof(void *) != 4 || (offsetof(dw3x3_group, bias) == 72 &&
                                                        offsetof(dw3x3_group, lo4) == 136 &&
                                                        offsetof(dw3x3_group, y_end) == 148) ? 1 : -1];

static inline int dw_fold_ok(int32_t multiplier, int32_t shift) {
  return mp_requantize_lean_ok(multiplier, shift) && shift >= -23;
}

/* The nine taps of one output pixel added to a[0..3]: x at the top-left tap, taps `step`
 * bytes apart along a row, rows `rows` bytes apart. */
static inline void dw3x3_taps(const int8_t *x, int32_t step, int32_t rows, const dw3x3_group *g, int32_t *a) {
  int32_t ky, kx;
  for (ky = 0; ky < 3; ++ky, x += rows)
    for (kx = 0; kx < 3; ++kx) {
      const uint32_t xv = mp_load4(x + kx * step), xe = mp_sxtb16(xv), xo = mp_sxtb16_ror8(xv);
      const uint32_t *w = g->w[ky * 3 + kx];
      a[0] = mp_smlabb(xe, w[0], a[0]);
      a[2] = mp_smlatt(xe, w[0], a[2]);
      a[1] = mp_smlabb(xo, w[1], a[1]);
      a[3] = mp_smlatt(xo, w[1], a[3]);
    }
}

/* A run of output pixels of a group whose constants fold (dw_fold_ok on all four channels),
 * from y until g->y_end, y advancing by `step` and x by two rows and g->x_next: taps,
 * requantisation, clamp and a one-word store per pixel. On the core one loop of assembly:
 * 74 instructions of taps, then per output nine of requantisation and SSAT, and for the four
 * together packing, SSUB8/SEL against the clamp bounds and one STR; 6 of loop. */
static inline void dw3x3_run(const int8_t *x, int32_t step, int32_t rows, const dw3x3_group *g, int8_t *y) {
#if defined(MP_EMULATE_DSP)
  int32_t a[4], j;
  for (; y != g->y_end; y += step, x += 2 * rows + g->x_next) {
    for (j = 0; j < 4; ++j) a[j] = g->bias[j];
    dw3x3_taps(x, step, rows, g, a);
    for (j = 0; j < 4; ++j)
      y[j] = mp_clamp8(mp_requantize_lean_fast(a[j], g->m[j], g->round[j], g->e1[j]), (int8_t)g->lo4, (int8_t)g->hi4);
  }
#else
  int32_t a0, a1, a2, a3;
  uint32_t xv, xe, we, wo;
#define MP_DW_ASM_TAP(ADDR, OFF)                 \
  "ldr %[xv], " ADDR "\n\t"                      \
  "ldrd %[we], %[wo], [%[g], #" #OFF "]\n\t"     \
  "sxtb16 %[xe], %[xv]\n\t"                     \
  "sxtb16 %[xv], %[xv], ror #8\n\t"             \
  "smlabb %[a0], %[xe], %[we], %[a0]\n\t"       \
  "smlatt %[a2], %[xe], %[we], %[a2]\n\t"       \
  "smlabb %[a1], %[xv], %[wo], %[a1]\n\t"       \
  "smlatt %[a3], %[xv], %[wo], %[a3]\n\t"
#define MP_DW_ASM_ROW(O0, O1, O2)                \
  MP_DW_ASM_TAP("[%[x]]", O0)                    \
  MP_DW_ASM_TAP("[%[x], %[c]]", O1)              \
  MP_DW_ASM_TAP("[%[x], %[c], lsl #1]", O2)
#define MP_DW_ASM_REQ(A, I)                      \
  "ldr %[xv], [%[g], #88+" #I "*4]\n\t"          \
  "ldr %[xe], [%[g], #104+" #I "*4]\n\t"         \
  "and %[we], %[" A "], #0x80000000\n\t"        \
  "orr %[we], %[we], #0x40000000\n\t"           \
  "add %[xe], %[xe], %[" A "], asr #31\n\t"     \
  "smlal %[we], %[xe], %[" A "], %[xv]\n\t"     \
  "ldr %[xv], [%[g], #120+" #I "*4]\n\t"         \
  "asr %[xe], %[xe], %[xv]\n\t"                 \
  "ssat %[" A "], #8, %[xe]\n\t"
  __asm__ volatile("1:\n\t"
                   "ldrd %[a0], %[a1], [%[g], #72]\n\t"
                   "ldrd %[a2], %[a3], [%[g], #80]\n\t"
                   MP_DW_ASM_ROW(0, 8, 16) "add %[x], %[x], %[rs]\n\t"
                   MP_DW_ASM_ROW(24, 32, 40) "add %[x], %[x], %[rs]\n\t"
                   MP_DW_ASM_ROW(48, 56, 64)
                   MP_DW_ASM_REQ("a0", 0) MP_DW_ASM_REQ("a1", 1) MP_DW_ASM_REQ("a2", 2) MP_DW_ASM_REQ("a3", 3)
                   "pkhbt %[a0], %[a0], %[a2], lsl #16\n\t"
                   "pkhbt %[a1], %[a1], %[a3], lsl #16\n\t"
                   "uxtb16 %[a0], %[a0]\n\t"
                   "uxtb16 %[a1], %[a1]\n\t"
                   "orr %[a0], %[a0], %[a1], lsl #8\n\t"
                   "ldrd %[we], %[wo], [%[g], #136]\n\t"
                   "ssub8 %[xv], %[a0], %[we]\n\t"
                   "sel %[a0], %[a0], %[we]\n\t"
                   "ssub8 %[xv], %[wo], %[a0]\n\t"
                   "sel %[a0], %[a0], %[wo]\n\t"
                   "str %[a0], [%[y]]\n\t"
                   "ldr %[xv], [%[g], #144]\n\t"
                   "add %[x], %[x], %[xv]\n\t"
                   "add %[y], %[y], %[c]\n\t"
                   "ldr %[xv], [%[g], #148]\n\t"
                   "cmp %[y], %[xv]\n\t"
                   "bne 1b\n\t"
                   : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [x] "+&r"(x), [y] "+&r"(y),
                     [xv] "=&r"(xv), [xe] "=&r"(xe), [we] "=&r"(we), [wo] "=&r"(wo)
                   : [c] "r"(step), [rs] "r"(rows), [g] "r"(g)
                   : "memory", "cc");
#undef MP_DW_ASM_REQ
#undef MP_DW_ASM_ROW
#undef MP_DW_ASM_TAP
#endif
}

/* A 3x3 window whose taps outside the input hold the input's zero point (pad4: four copies),
 * which adds nothing once the input offset is added: a border pixel then runs the same
 * unrolled taps as an inside one. x: the window's top-left tap (possibly outside); the taps
 * inside are rows [ky_lo, ky_hi) and columns [kx_lo, kx_hi). */
static inline void dw3x3_padded_window(uint32_t *window, const int8_t *x, int32_t C, int32_t row_step, int32_t ky_lo,
                                       int32_t ky_hi, int32_t kx_lo, int32_t kx_hi, uint32_t pad4) {
  int32_t ky;
  uint32_t *wr = window + ky_lo * 3;
  window[0] = window[1] = window[2] = window[3] = window[4] = window[5] = window[6] = window[7] = window[8] = pad4;
  for (ky = ky_lo, x += ky_lo * row_step; ky < ky_hi; ++ky, x += row_step, wr += 3) {
    if (kx_lo == 0 && kx_hi > 0) wr[0] = mp_load4(x);
    if (kx_lo <= 1 && kx_hi > 1) wr[1] = mp_load4(x + C);
    if (kx_lo <= 2 && kx_hi > 2) wr[2] = mp_load4(x + 2 * C);
  }
}

/* The four outputs of a group with any requantisation constants. */
static inline void dw_store4(int8_t *y, const int32_t *a, const int32_t *m, const int32_t *shift, int32_t zp,
                             int32_t lo, int32_t hi) {
  int32_t j;
  for (j = 0; j < 4; ++j) y[j] = mp_clamp8(mp_requantize(a[j], m[j], shift[j]) + zp, lo, hi);
}

/* 3x3, dilation 1, any stride and padding: every pixel runs the unrolled taps, a border
 * pixel on a padded copy of its window. */
static void depthwise3x3_groups4(const mp_depthwise_conv_params *p, const int8_t *input, int8_t *output) {
  const mp_window *k = &p->win;
  const int32_t C = k->in.c, sw = k->stride_w, row_step = k->in.w * C, zp = p->output_zero_point;
  const uint32_t pad4 = 0x01010101u * (uint8_t)(int8_t)(-p->input_offset);
  /* the output columns whose window lies inside the input: [ow_a, ow_b) */
  const int32_t ow_a = (k->pad_left + sw - 1) / sw;
  const int32_t ow_b_raw = k->in.w >= 3 ? (k->in.w - 3 + k->pad_left) / sw + 1 : 0;
  const int32_t ow_b = ow_b_raw < ow_a ? ow_a : ow_b_raw > k->out.w ? k->out.w : ow_b_raw;
  dw3x3_group g;
  uint32_t window[9];
  int32_t c, t, j, oh, ow, ky_lo, ky_hi, kx_lo, kx_hi, fold;
  g.lo4 = 0x01010101u * (uint8_t)(int8_t)p->act_min, g.hi4 = 0x01010101u * (uint8_t)(int8_t)p->act_max;
  g.x_next = sw * C - 2 * row_step;
  for (c = 0; c < C; c += 4) {
    if (c + 4 > C) c = C - 4; /* the last group overlaps the previous one (the same values again) */
    fold = 1;
    for (j = 0; j < 4; ++j) g.bias[j] = 0;
    for (t = 0; t < 9; ++t) {
      const uint32_t wv = mp_load4(p->weights + t * C + c);
      g.w[t][0] = mp_sxtb16(wv), g.w[t][1] = mp_sxtb16_ror8(wv);
      for (j = 0; j < 4; ++j) g.bias[j] += p->weights[t * C + c + j];
    }
    for (j = 0; j < 4; ++j) {
      g.bias[j] = p->bias[c + j] + p->input_offset * g.bias[j];
      fold = fold && dw_fold_ok(p->multiplier[c + j], p->shift[c + j]);
    }
    for (j = 0; j < 4 && fold; ++j) {
      g.m[j] = p->multiplier[c + j], g.e1[j] = -p->shift[c + j] - 1;
      g.round[j] = mp_requantize_lean_round(p->shift[c + j]) + (int32_t)((uint32_t)zp << g.e1[j]);
    }
    for (oh = 0; oh < k->out.h; ++oh) {
      const int32_t ih0 = oh * k->stride_h - k->pad_top;
      const int8_t *xrow = input + ih0 * row_step + c;
      int8_t *y = output + oh * k->out.w * C + c;
      int32_t iw0 = -k->pad_left, a, b;
      mp_tap_range(ih0, 1, 3, k->in.h, &ky_lo, &ky_hi);
      a = ky_lo == 0 && ky_hi == 3 ? ow_a : k->out.w, b = ky_lo == 0 && ky_hi == 3 ? ow_b : k->out.w;
      for (ow = 0; ow < k->out.w; ++ow, y += C, iw0 += sw) {
        const int8_t *x = xrow + iw0 * C;
        int32_t step = C, rows = row_step;
        if (ow == a && fold) { /* the run of inside pixels, in one call */
          g.y_end = y + (b - a) * C;
          dw3x3_run(x, C, row_step, &g, y);
          ow = b - 1, y += (b - a - 1) * C, iw0 += (b - a - 1) * sw;
          continue;
        }
        if (ow < a || ow >= b) {
          kx_lo = iw0 < 0 ? -iw0 : 0, kx_hi = k->in.w - iw0 < 3 ? k->in.w - iw0 : 3;
          dw3x3_padded_window(window, x, C, row_step, ky_lo, ky_hi, kx_lo, kx_hi, pad4);
          x = (const int8_t *)window, step = 4, rows = 12;
        }
        if (fold) {
          g.y_end = y + step; /* one pixel: y advances by step */
          dw3x3_run(x, step, rows, &g, y);
        } else {
          int32_t acc[4];
          for (j = 0; j < 4; ++j) acc[j] = g.bias[j];
          dw3x3_taps(x, step, rows, &g, acc);
          dw_store4(y, acc, p->multiplier + c, p->shift + c, zp, p->act_min, p->act_max);
        }
      }
    }
  }
}

/* Any other kernel size, stride and dilation: taps outside the input are skipped, as in the
 * portable loop (the same sums), each input offset by SADD16. */
static void depthwise_groups4(const mp_depthwise_conv_params *p, const int8_t *input, int8_t *output) {
  const mp_window *k = &p->win;
  const int32_t C = k->in.c, kw = k->kernel_w, x_step = k->dilation_w * C;
  const int32_t row_step = k->dilation_h * k->in.w * C, zp = p->output_zero_point, lo = p->act_min, hi = p->act_max;
  const uint32_t off = ((uint32_t)(uint16_t)p->input_offset << 16) | (uint16_t)p->input_offset;
  uint32_t wext[MP_DW_GROUP_TAPS][2];
  int32_t c, t, j, oh, ow, ky, kx, ky_lo, ky_hi, kx_lo, kx_hi;
  for (c = 0; c < C; c += 4) {
    if (c + 4 > C) c = C - 4; /* the last group overlaps the previous one */
    for (t = 0; t < k->kernel_h * kw; ++t) {
      const uint32_t wv = mp_load4(p->weights + t * C + c);
      wext[t][0] = mp_sxtb16(wv), wext[t][1] = mp_sxtb16_ror8(wv);
    }
    for (oh = 0; oh < k->out.h; ++oh) {
      const int32_t ih0 = oh * k->stride_h - k->pad_top;
      int8_t *y = output + oh * k->out.w * C + c;
      mp_tap_range(ih0, k->dilation_h, k->kernel_h, k->in.h, &ky_lo, &ky_hi);
      for (ow = 0; ow < k->out.w; ++ow, y += C) {
        const int32_t iw0 = ow * k->stride_w - k->pad_left;
        int32_t a[4];
        const int8_t *xr;
        for (j = 0; j < 4; ++j) a[j] = p->bias[c + j];
        mp_tap_range(iw0, k->dilation_w, kw, k->in.w, &kx_lo, &kx_hi);
        xr = input + ((ih0 + ky_lo * k->dilation_h) * k->in.w + iw0 + kx_lo * k->dilation_w) * C + c;
        for (ky = ky_lo; ky < ky_hi; ++ky, xr += row_step) {
          const uint32_t *w = wext[ky * kw + kx_lo];
          const int8_t *x = xr;
          for (kx = kx_lo; kx < kx_hi; ++kx, x += x_step, w += 2) {
            const uint32_t xv = mp_load4(x);
            const uint32_t xe = mp_sadd16(mp_sxtb16(xv), off), xo = mp_sadd16(mp_sxtb16_ror8(xv), off);
            a[0] = mp_smlabb(xe, w[0], a[0]);
            a[2] = mp_smlatt(xe, w[0], a[2]);
            a[1] = mp_smlabb(xo, w[1], a[1]);
            a[3] = mp_smlatt(xo, w[1], a[3]);
          }
        }
        dw_store4(y, a, p->multiplier + c, p->shift + c, zp, lo, hi);
      }
    }
  }
}
#endif

#ifndef MP_DSP
#define MP_DW_GROUP_TAPS 25
/* Depth multiplier 1 without the DSP extension: four channels at a time with their weights
 * widened once per group (on the stack) and the requantisation constants hoisted, so a tap
 * is four loads of inputs and four multiply-accumulates. A window inside the input runs on
 * raw inputs with the input offset folded into the bias (bias + offset * the channel's weight
 * sum); a border window adds the offset to each tap inside and skips the others: the same
 * sums as the one-channel loop. */
static void depthwise_portable_groups4(const mp_depthwise_conv_params *p, const int8_t *input, int8_t *output) {
  const mp_window *k = &p->win;
  const int32_t C = k->in.c, kh = k->kernel_h, kw = k->kernel_w, x_step = k->dilation_w * C;
  const int32_t row_step = k->dilation_h * k->in.w * C, off = p->input_offset, zp = p->output_zero_point;
  int32_t w4[MP_DW_GROUP_TAPS][4];
  int32_t c, t, j, oh, ow, ky, kx, ky_lo, ky_hi, kx_lo, kx_hi;
  for (c = 0; c < C; c += 4) {
    int32_t bias_in[4], m[4], e1[4], round[4], lean = 1;
    if (c + 4 > C) c = C - 4; /* the last group overlaps the previous one (the same values again) */
    for (j = 0; j < 4; ++j) bias_in[j] = 0;
    for (t = 0; t < kh * kw; ++t)
      for (j = 0; j < 4; ++j) w4[t][j] = p->weights[t * C + c + j], bias_in[j] += w4[t][j];
    for (j = 0; j < 4; ++j) {
      bias_in[j] = p->bias[c + j] + off * bias_in[j];
      m[j] = p->multiplier[c + j], e1[j] = -p->shift[c + j] - 1;
      lean = lean && mp_requantize_lean_ok(m[j], p->shift[c + j]);
    }
    for (j = 0; j < 4; ++j) round[j] = lean ? mp_requantize_lean_round(p->shift[c + j]) : 0;
    for (oh = 0; oh < k->out.h; ++oh) {
      const int32_t ih0 = oh * k->stride_h - k->pad_top;
      int8_t *y = output + oh * k->out.w * C + c;
      mp_tap_range(ih0, k->dilation_h, kh, k->in.h, &ky_lo, &ky_hi);
      for (ow = 0; ow < k->out.w; ++ow, y += C) {
        const int32_t iw0 = ow * k->stride_w - k->pad_left;
        const int8_t *xr;
        int32_t a0, a1, a2, a3;
        mp_tap_range(iw0, k->dilation_w, kw, k->in.w, &kx_lo, &kx_hi);
        xr = input + ((ih0 + ky_lo * k->dilation_h) * k->in.w + iw0 + kx_lo * k->dilation_w) * C + c;
        if (ky_lo == 0 && ky_hi == kh && kx_lo == 0 && kx_hi == kw) {
          const int32_t *w = w4[0];
          a0 = bias_in[0], a1 = bias_in[1], a2 = bias_in[2], a3 = bias_in[3];
          for (ky = 0; ky < kh; ++ky, xr += row_step) {
            const int8_t *x = xr;
            for (kx = 0; kx < kw; ++kx, x += x_step, w += 4)
              a0 += x[0] * w[0], a1 += x[1] * w[1], a2 += x[2] * w[2], a3 += x[3] * w[3];
          }
        } else {
          a0 = p->bias[c], a1 = p->bias[c + 1], a2 = p->bias[c + 2], a3 = p->bias[c + 3];
          for (ky = ky_lo; ky < ky_hi; ++ky, xr += row_step) {
            const int8_t *x = xr;
            const int32_t *w = w4[ky * kw + kx_lo];
            for (kx = kx_lo; kx < kx_hi; ++kx, x += x_step, w += 4)
              a0 += (x[0] + off) * w[0], a1 += (x[1] + off) * w[1], a2 += (x[2] + off) * w[2], a3 += (x[3] + off) * w[3];
          }
        }
        if (lean) {
          y[0] = mp_clamp8(mp_requantize_lean_fast(a0, m[0], round[0], e1[0]) + zp, p->act_min, p->act_max);
          y[1] = mp_clamp8(mp_requantize_lean_fast(a1, m[1], round[1], e1[1]) + zp, p->act_min, p->act_max);
          y[2] = mp_clamp8(mp_requantize_lean_fast(a2, m[2], round[2], e1[2]) + zp, p->act_min, p->act_max);
          y[3] = mp_clamp8(mp_requantize_lean_fast(a3, m[3], round[3], e1[3]) + zp, p->act_min, p->act_max);
        } else {
          y[0] = mp_clamp8(mp_requantize(a0, m[0], p->shift[c]) + zp, p->act_min, p->act_max);
          y[1] = mp_clamp8(mp_requantize(a1, m[1], p->shift[c + 1]) + zp, p->act_min, p->act_max);
          y[2] = mp_clamp8(mp_requantize(a2, m[2], p->shift[c + 2]) + zp, p->act_min, p->act_max);
          y[3] = mp_clamp8(mp_requantize(a3, m[3], p->shift[c + 3]) + zp, p->act_min, p->act_max);
        }
      }
    }
  }
}
#endif

int32_t mp_depthwise_conv_scratch_bytes(const mp_depthwise_conv_params *p) {
  (void)p;
  return 0;
}

void mp_depthwise_conv(const mp_depthwise_conv_params *p, const int8_t *input, int8_t *output, void *scratch) {
  const mp_window *k = &p->win;
  const int32_t in_c = k->in.c, out_c = k->out.c, m = p->depth_multiplier;
  const int64_t x_step = (int64_t)k->dilation_w * in_c; /* next tap along a row */
  int32_t oh, ow, oc, ky, kx, ky_lo, ky_hi, kx_lo, kx_hi;
#ifdef MP_DSP
  const int grouped = m == 1 && k->kernel_h * k->kernel_w <= MP_DW_GROUP_TAPS;
  if (grouped && out_c >= 4) { /* channels in groups of four, the last overlapping */
    if (k->kernel_h == 3 && k->kernel_w == 3 && k->dilation_h == 1 && k->dilation_w == 1)
      depthwise3x3_groups4(p, input, output);
    else
      depthwise_groups4(p, input, output);
    return;
  }
#else
  if (m == 1 && k->kernel_h * k->kernel_w <= MP_DW_GROUP_TAPS && out_c >= 4) {
    depthwise_portable_groups4(p, input, output);
    return;
  }
#endif
  (void)scratch;
  for (oh = 0; oh < k->out.h; ++oh) {
    const int32_t ih0 = oh * k->stride_h - k->pad_top;
    mp_tap_range(ih0, k->dilation_h, k->kernel_h, k->in.h, &ky_lo, &ky_hi);
    for (ow = 0; ow < k->out.w; ++ow) {
      const int32_t iw0 = ow * k->stride_w - k->pad_left;
      int8_t *y = output + ((int64_t)oh * k->out.w + ow) * out_c;
      mp_tap_range(iw0, k->dilation_w, k->kernel_w, k->in.w, &kx_lo, &kx_hi);
      for (oc = 0; oc < out_c; ++oc) {
        int32_t acc = p->bias[oc];
        for (ky = ky_lo; ky < ky_hi && kx_lo < kx_hi; ++ky) {
          const int8_t *x = input + ((int64_t)(ih0 + ky * k->dilation_h) * k->in.w + iw0 + kx_lo * k->dilation_w) * in_c +
                            oc / m;
          const int8_t *w = p->weights + ((int64_t)ky * k->kernel_w + kx_lo) * out_c + oc;
          for (kx = kx_lo; kx < kx_hi; ++kx, x += x_step, w += out_c) acc += ((int32_t)*x + p->input_offset) * (int32_t)*w;
        }
        y[oc] = mp_clamp8(mp_requantize(acc, p->multiplier[oc], p->shift[oc]) + p->output_zero_point, p->act_min,
                          p->act_max);
      }
    }
  }
}
