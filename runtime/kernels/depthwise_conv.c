#include "depthwise_conv.h"

#include "fixed_point.h"

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
      for (oc = 0; oc < out_c; ++oc) {
        int32_t acc = p->bias[oc];
        for (ky = ky_lo; ky < ky_hi; ++ky) {
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
