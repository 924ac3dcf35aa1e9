#include "pooling.h"

#include "fixed_point.h"

static void pool(const mp_pool_params *p, const int8_t *input, int8_t *output, int is_max) {
  const mp_window *k = &p->win;
  const int32_t c_n = k->in.c;
  int32_t oh, ow, c, ky, kx;
  for (oh = 0; oh < k->out.h; ++oh)
    for (ow = 0; ow < k->out.w; ++ow)
      for (c = 0; c < c_n; ++c) {
        int32_t acc = is_max ? -128 : 0, count = 0;
        for (ky = 0; ky < k->kernel_h; ++ky) {
          const int32_t ih = oh * k->stride_h - k->pad_top + ky * k->dilation_h;
          if (ih < 0 || ih >= k->in.h) continue;
          for (kx = 0; kx < k->kernel_w; ++kx) {
            const int32_t iw = ow * k->stride_w - k->pad_left + kx * k->dilation_w;
            int32_t x;
            if (iw < 0 || iw >= k->in.w) continue;
            x = input[((int64_t)ih * k->in.w + iw) * c_n + c];
            if (is_max)
              acc = x > acc ? x : acc;
            else
              acc += x;
            ++count;
          }
        }
        if (!is_max) acc = count ? mp_rounded_average(acc, count) : 0;
        output[((int64_t)oh * k->out.w + ow) * c_n + c] = mp_clamp8(acc, -128, 127);
      }
}

void mp_max_pool(const mp_pool_params *p, const int8_t *input, int8_t *output) { pool(p, input, output, 1); }
void mp_avg_pool(const mp_pool_params *p, const int8_t *input, int8_t *output) { pool(p, input, output, 0); }
