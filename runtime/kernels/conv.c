#include "conv.h"

#include "dot.h"
#include "fixed_point.h"

void mp_conv(const mp_conv_params *p, const int8_t *input, int8_t *output) {
  const mp_window *k = &p->win;
  const int32_t in_c = k->in.c, out_c = k->out.c;
  int32_t oh, ow, oc, ky, kx;
  for (oh = 0; oh < k->out.h; ++oh)
    for (ow = 0; ow < k->out.w; ++ow) {
      int8_t *y = output + ((int64_t)oh * k->out.w + ow) * out_c;
      for (oc = 0; oc < out_c; ++oc) {
        int32_t acc = p->bias[oc];
        const int8_t *wo = p->weights + (int64_t)oc * k->kernel_h * k->kernel_w * in_c;
        for (ky = 0; ky < k->kernel_h; ++ky) {
          const int32_t ih = oh * k->stride_h - k->pad_top + ky * k->dilation_h;
          if (ih < 0 || ih >= k->in.h) continue;
          for (kx = 0; kx < k->kernel_w; ++kx) {
            const int32_t iw = ow * k->stride_w - k->pad_left + kx * k->dilation_w;
            if (iw < 0 || iw >= k->in.w) continue;
            acc = mp_dot(input + ((int64_t)ih * k->in.w + iw) * in_c, wo + ((int64_t)ky * k->kernel_w + kx) * in_c, in_c,
                         p->input_offset, acc);
          }
        }
        y[oc] = mp_clamp8(mp_requantize(acc, p->multiplier[oc], p->shift[oc]) + p->output_zero_point, p->act_min,
                          p->act_max);
      }
    }
}
