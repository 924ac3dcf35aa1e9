#include "depthwise_conv.h"

#include "dot.h"
#include "fixed_point.h"

#ifdef MP_DSP
#define MP_DW_GROUP_TAPS 25
/* Depth multiplier 1 with the DSP extension, without scratch: four channels at a time, their
 * weights sign-extended once per group into the halfword pairs of channels (0, 2) and (1, 3)
 * (at most MP_DW_GROUP_TAPS taps, on the stack) and their requantisation constants hoisted.
 * Per tap, one load of the four inputs, split by SXTB16 and offset by SADD16, and SMLABB /
 * SMLATT per channel. Taps outside the input are skipped, as in the portable loop: the same
 * sums. */
/* One output pixel of four channels with all nine taps of a 3x3 kernel inside the input: x
 * at the top-left tap (channel group), rows row_step bytes apart, taps C apart, w the nine
 * taps' extended weight pairs; raw inputs (the offset is in the accumulators' start). On the
 * core 8 instructions per tap; the same sums in C elsewhere. */
static inline void dw3x3_inside(const int8_t *x, int32_t C, int32_t row_step, const uint32_t *w, int32_t *p0,
                                int32_t *p1, int32_t *p2, int32_t *p3) {
  int32_t a0 = *p0, a1 = *p1, a2 = *p2, a3 = *p3;
#if defined(MP_EMULATE_DSP)
  int32_t ky, kx;
  for (ky = 0; ky < 3; ++ky, x += row_step)
    for (kx = 0; kx < 3; ++kx, w += 2) {
      const uint32_t xv = mp_load4(x + kx * C), xe = mp_sxtb16(xv), xo = mp_sxtb16_ror8(xv);
      a0 = mp_smlabb(xe, w[0], a0);
      a2 = mp_smlatt(xe, w[0], a2);
      a1 = mp_smlabb(xo, w[1], a1);
      a3 = mp_smlatt(xo, w[1], a3);
    }
#else
  uint32_t xv, xe, we, wo;
#define MP_DW_ASM_TAP(ADDR)                 \
  "ldr %[xv], " ADDR "\n\t"                 \
  "ldrd %[we], %[wo], [%[w]], #8\n\t"      \
  "sxtb16 %[xe], %[xv]\n\t"                \
  "sxtb16 %[xv], %[xv], ror #8\n\t"        \
  "smlabb %[a0], %[xe], %[we], %[a0]\n\t"  \
  "smlatt %[a2], %[xe], %[we], %[a2]\n\t"  \
  "smlabb %[a1], %[xv], %[wo], %[a1]\n\t"  \
  "smlatt %[a3], %[xv], %[wo], %[a3]\n\t"
#define MP_DW_ASM_ROW                       \
  MP_DW_ASM_TAP("[%[x]]")                   \
  MP_DW_ASM_TAP("[%[x], %[c]]")             \
  MP_DW_ASM_TAP("[%[x], %[c], lsl #1]")     \
  "add %[x], %[x], %[rs]\n\t"
  __asm__ volatile(MP_DW_ASM_ROW MP_DW_ASM_ROW MP_DW_ASM_ROW
                   : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [w] "+r"(w),
                     [xv] "=&r"(xv), [xe] "=&r"(xe), [we] "=&r"(we), [wo] "=&r"(wo)
                   : [c] "r"(C), [rs] "r"(row_step)
                   : "memory");
#undef MP_DW_ASM_ROW
#undef MP_DW_ASM_TAP
#endif
  *p0 = a0, *p1 = a1, *p2 = a2, *p3 = a3;
}

static void depthwise_groups4(const mp_depthwise_conv_params *p, const int8_t *input, int8_t *output) {
  const mp_window *k = &p->win;
  const int32_t C = k->in.c, kw = k->kernel_w, x_step = k->dilation_w * C;
  const int32_t row_step = k->dilation_h * k->in.w * C, zp = p->output_zero_point, lo = p->act_min, hi = p->act_max;
  const int three = k->kernel_h == 3 && kw == 3 && k->dilation_h == 1 && k->dilation_w == 1;
  const uint32_t off = ((uint32_t)(uint16_t)p->input_offset << 16) | (uint16_t)p->input_offset;
  uint32_t wext[MP_DW_GROUP_TAPS][2];
  int32_t c, t, j, oh, ow, ky, kx, ky_lo, ky_hi, kx_lo, kx_hi;
  for (c = 0; c < C && C >= 4; c += 4) {
    int32_t m[4], e1[4], round[4], lean = 1;
    if (c + 4 > C) c = C - 4; /* the last group overlaps the previous one (the same values again) */
    int32_t bias_in[4];
    for (j = 0; j < 4; ++j) bias_in[j] = 0;
    for (t = 0; t < k->kernel_h * kw; ++t) {
      const uint32_t wv = mp_load4(p->weights + t * C + c);
      wext[t][0] = mp_sxtb16(wv), wext[t][1] = mp_sxtb16_ror8(wv);
      for (j = 0; j < 4; ++j) bias_in[j] += p->weights[t * C + c + j];
    }
    for (j = 0; j < 4; ++j) bias_in[j] = p->bias[c + j] + p->input_offset * bias_in[j];
    for (j = 0; j < 4; ++j) {
      m[j] = p->multiplier[c + j], e1[j] = -p->shift[c + j] - 1;
      lean = lean && mp_requantize_lean_ok(m[j], p->shift[c + j]);
      round[j] = lean ? 1 << (e1[j] - 1) : 0;
    }
    for (oh = 0; oh < k->out.h; ++oh) {
      const int32_t ih0 = oh * k->stride_h - k->pad_top;
      int8_t *y = output + oh * k->out.w * C + c;
      mp_tap_range(ih0, k->dilation_h, k->kernel_h, k->in.h, &ky_lo, &ky_hi);
      for (ow = 0; ow < k->out.w; ++ow, y += C) {
        const int32_t iw0 = ow * k->stride_w - k->pad_left;
        int32_t a0 = p->bias[c], a1 = p->bias[c + 1], a2 = p->bias[c + 2], a3 = p->bias[c + 3], acc[4];
        const int8_t *xr;
        mp_tap_range(iw0, k->dilation_w, kw, k->in.w, &kx_lo, &kx_hi);
        xr = input + ((ih0 + ky_lo * k->dilation_h) * k->in.w + iw0 + kx_lo * k->dilation_w) * C + c;
#define MP_DW_TAP(X, W)                                                                            \
  do {                                                                                             \
    const uint32_t xv_ = mp_load4(X);                                                              \
    const uint32_t xe_ = mp_sadd16(mp_sxtb16(xv_), off), xo_ = mp_sadd16(mp_sxtb16_ror8(xv_), off); \
    a0 = mp_smlabb(xe_, (W)[0], a0);                                                               \
    a2 = mp_smlatt(xe_, (W)[0], a2);                                                               \
    a1 = mp_smlabb(xo_, (W)[1], a1);                                                               \
    a3 = mp_smlatt(xo_, (W)[1], a3);                                                               \
  } while (0)
        if (three && ky_lo == 0 && ky_hi == 3 && kx_lo == 0 && kx_hi == 3) {
          /* 3x3 inside: the input offset is in bias_in (off times the sum of each channel's
           * weights), the nine taps unrolled on the raw inputs */
          a0 = bias_in[0], a1 = bias_in[1], a2 = bias_in[2], a3 = bias_in[3];
          dw3x3_inside(xr, C, row_step, wext[0], &a0, &a1, &a2, &a3);
        } else {
          for (ky = ky_lo; ky < ky_hi; ++ky, xr += row_step) {
            const uint32_t *w = wext[ky * kw + kx_lo];
            const int8_t *x = xr;
            for (kx = kx_lo; kx < kx_hi; ++kx, x += x_step, w += 2) MP_DW_TAP(x, w);
          }
        }
#undef MP_DW_TAP
        if (lean) {
          y[0] = mp_clamp8(mp_requantize_lean_fast(a0, m[0], round[0], e1[0]) + zp, lo, hi);
          y[1] = mp_clamp8(mp_requantize_lean_fast(a1, m[1], round[1], e1[1]) + zp, lo, hi);
          y[2] = mp_clamp8(mp_requantize_lean_fast(a2, m[2], round[2], e1[2]) + zp, lo, hi);
          y[3] = mp_clamp8(mp_requantize_lean_fast(a3, m[3], round[3], e1[3]) + zp, lo, hi);
        } else {
          acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
          for (j = 0; j < 4; ++j) y[j] = mp_clamp8(mp_requantize(acc[j], m[j], p->shift[c + j]) + zp, lo, hi);
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
    depthwise_groups4(p, input, output);
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
