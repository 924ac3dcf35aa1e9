#include "conv.h"

#include "dot.h"
#include "fixed_point.h"

void mp_conv(const mp_conv_params *p, const int8_t *input, int8_t *output) {
  const mp_window *k = &p->win;
  const int32_t in_c = k->in.c, out_c = k->out.c;
  const int64_t filter_size = (int64_t)k->kernel_h * k->kernel_w * in_c;
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
        const int8_t *wo = p->weights + (int64_t)oc * filter_size;
        for (ky = ky_lo; ky < ky_hi && kx_lo < kx_hi; ++ky) {
          /* pointers to the first tap inside the input (never before the tensor) */
          const int8_t *x =
              input + ((int64_t)(ih0 + ky * k->dilation_h) * k->in.w + iw0 + (int64_t)kx_lo * k->dilation_w) * in_c;
          const int8_t *w = wo + ((int64_t)ky * k->kernel_w + kx_lo) * in_c;
          if (k->dilation_w == 1) { /* the taps of a row are contiguous: one dot product */
            acc = mp_dot(x, w, (kx_hi - kx_lo) * in_c, p->input_offset, acc);
          } else {
            for (kx = 0; kx < kx_hi - kx_lo; ++kx)
              acc = mp_dot(x + (int64_t)kx * k->dilation_w * in_c, w + (int64_t)kx * in_c, in_c, p->input_offset, acc);
          }
        }
        y[oc] = mp_clamp8(mp_requantize(acc, p->multiplier[oc], p->shift[oc]) + p->output_zero_point, p->act_min,
                          p->act_max);
      }
    }
  }
}
