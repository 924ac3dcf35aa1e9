#include "depthwise_conv.h"

#include "dot.h"
#include "fixed_point.h"

#ifdef MP_DSP
#define MP_DW_MAX_TAPS 64
/* Depth multiplier 1 with the DSP extension: four channels at a time, the taps in pairs. For
 * tap pair (t0, t1) and channel j the products x_t0[j] w_t0[j] + x_t1[j] w_t1[j] are one
 * SMLAD on the halfword pairs (x_t0[j], x_t1[j]) and (w_t0[j], w_t1[j]), which SXTB16 and
 * halfword packing build from one 4-byte load per tap. Exact integer sums: the same result
 * as the portable loop. */
static void channels4(const int8_t *const *xs, const int8_t *const *ws, int32_t taps, int32_t c, uint32_t off2,
                      int32_t off, int32_t acc[4]) {
  int32_t t = 0, j;
  for (; t + 2 <= taps; t += 2) {
    const uint32_t x0 = mp_load4(xs[t] + c), x1 = mp_load4(xs[t + 1] + c);
    const uint32_t w0 = mp_load4(ws[t] + c), w1 = mp_load4(ws[t + 1] + c);
    const uint32_t xe0 = mp_sxtb16(x0), xe1 = mp_sxtb16(x1), xo0 = mp_sxtb16_ror8(x0), xo1 = mp_sxtb16_ror8(x1);
    const uint32_t we0 = mp_sxtb16(w0), we1 = mp_sxtb16(w1), wo0 = mp_sxtb16_ror8(w0), wo1 = mp_sxtb16_ror8(w1);
    acc[0] = mp_smlad(mp_sadd16(mp_pack_low(xe0, xe1), off2), mp_pack_low(we0, we1), acc[0]);
    acc[2] = mp_smlad(mp_sadd16(mp_pack_high(xe0, xe1), off2), mp_pack_high(we0, we1), acc[2]);
    acc[1] = mp_smlad(mp_sadd16(mp_pack_low(xo0, xo1), off2), mp_pack_low(wo0, wo1), acc[1]);
    acc[3] = mp_smlad(mp_sadd16(mp_pack_high(xo0, xo1), off2), mp_pack_high(wo0, wo1), acc[3]);
  }
  for (; t < taps; ++t)
    for (j = 0; j < 4; ++j) acc[j] += ((int32_t)xs[t][c + j] + off) * (int32_t)ws[t][c + j];
}
#endif

void mp_depthwise_conv(const mp_depthwise_conv_params *p, const int8_t *input, int8_t *output) {
  const mp_window *k = &p->win;
  const int32_t in_c = k->in.c, out_c = k->out.c, m = p->depth_multiplier;
  const int64_t x_step = (int64_t)k->dilation_w * in_c; /* next tap along a row */
  int32_t oh, ow, oc, ky, kx, ky_lo, ky_hi, kx_lo, kx_hi;
  for (oh = 0; oh < k->out.h; ++oh) {
    const int32_t ih0 = oh * k->stride_h - k->pad_top;
    mp_tap_range(ih0, k->dilation_h, k->kernel_h, k->in.h, &ky_lo, &ky_hi);
    for (ow = 0; ow < k->out.w; ++ow) {
      const int32_t iw0 = ow * k->stride_w - k->pad_left;
      int8_t *y = output + ((int64_t)oh * k->out.w + ow) * out_c;
      mp_tap_range(iw0, k->dilation_w, k->kernel_w, k->in.w, &kx_lo, &kx_hi);
      oc = 0;
#ifdef MP_DSP
      if (m == 1 && (ky_hi - ky_lo) * (kx_hi - kx_lo) <= MP_DW_MAX_TAPS) {
        const int8_t *xs[MP_DW_MAX_TAPS], *ws[MP_DW_MAX_TAPS];
        const uint32_t off2 = ((uint32_t)(uint16_t)p->input_offset << 16) | (uint16_t)p->input_offset;
        int32_t taps = 0, j;
        for (ky = ky_lo; ky < ky_hi; ++ky)
          for (kx = kx_lo; kx < kx_hi; ++kx, ++taps) {
            xs[taps] = input + ((int64_t)(ih0 + ky * k->dilation_h) * k->in.w + iw0 + kx * k->dilation_w) * in_c;
            ws[taps] = p->weights + ((int64_t)ky * k->kernel_w + kx) * out_c;
          }
        for (; oc + 4 <= out_c; oc += 4) {
          int32_t acc[4];
          for (j = 0; j < 4; ++j) acc[j] = p->bias[oc + j];
          channels4(xs, ws, taps, oc, off2, p->input_offset, acc);
          for (j = 0; j < 4; ++j)
            y[oc + j] = mp_clamp8(mp_requantize(acc[j], p->multiplier[oc + j], p->shift[oc + j]) + p->output_zero_point,
                                  p->act_min, p->act_max);
        }
      }
#endif
      for (; oc < out_c; ++oc) {
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
