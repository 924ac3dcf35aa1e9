#include "pooling.h"

#include "dot.h"
#include "fixed_point.h"

/* Per output pixel, the taps inside the input once (mp_tap_range), then each channel over
 * them; a window wholly in the padding gives -128 (max) or 0 (average). With the DSP
 * extension the maximum runs four channels at a time (SSUB8/SEL), the last group overlapping
 * the previous one. */
static void pool(const mp_pool_params *p, const int8_t *input, int8_t *output, int is_max) {
  const mp_window *k = &p->win;
  const int32_t C = k->in.c, row = k->dilation_h * k->in.w * C, tap = k->dilation_w * C;
  int32_t oh, ow, c, ky, kx, ky_lo, ky_hi, kx_lo, kx_hi;
  int8_t *y = output;
  for (oh = 0; oh < k->out.h; ++oh) {
    const int32_t ih0 = oh * k->stride_h - k->pad_top;
    mp_tap_range(ih0, k->dilation_h, k->kernel_h, k->in.h, &ky_lo, &ky_hi);
    for (ow = 0; ow < k->out.w; ++ow, y += C) {
      const int32_t iw0 = ow * k->stride_w - k->pad_left;
      const int8_t *first;
      int32_t rows, cols;
      mp_tap_range(iw0, k->dilation_w, k->kernel_w, k->in.w, &kx_lo, &kx_hi);
      rows = ky_hi - ky_lo, cols = kx_hi - kx_lo;
      if (rows <= 0 || cols <= 0) {
        for (c = 0; c < C; ++c) y[c] = (int8_t)(is_max ? -128 : 0);
        continue;
      }
      first = input + ((int64_t)(ih0 + ky_lo * k->dilation_h) * k->in.w + iw0 + kx_lo * k->dilation_w) * C;
      c = 0;
      if (is_max) {
#ifdef MP_DSP
        for (; c < C && C >= 4; c += 4) {
          uint32_t m;
          if (c + 4 > C) c = C - 4; /* the last group overlaps the previous one (the same maxima again) */
          m = mp_load4(first + c);
          const int8_t *xr = first + c;
          for (ky = 0; ky < rows; ++ky, xr += row) {
            const int8_t *x = xr;
            for (kx = 0; kx < cols; ++kx, x += tap) m = mp_max8x4(m, mp_load4(x));
          }
          memcpy(y + c, &m, 4);
        }
#endif
        for (; c < C; ++c) {
          int32_t m = -128;
          const int8_t *xr = first + c;
          for (ky = 0; ky < rows; ++ky, xr += row) {
            const int8_t *x = xr;
            for (kx = 0; kx < cols; ++kx, x += tap) m = *x > m ? *x : m;
          }
          y[c] = (int8_t)m;
        }
      } else {
        const int32_t count = rows * cols;
        for (; c < C; ++c) {
          int32_t s = 0;
          const int8_t *xr = first + c;
          for (ky = 0; ky < rows; ++ky, xr += row) {
            const int8_t *x = xr;
            for (kx = 0; kx < cols; ++kx, x += tap) s += *x;
          }
          y[c] = mp_clamp8(mp_rounded_average(s, count), -128, 127);
        }
      }
    }
  }
}

void mp_max_pool(const mp_pool_params *p, const int8_t *input, int8_t *output) { pool(p, input, output, 1); }
void mp_avg_pool(const mp_pool_params *p, const int8_t *input, int8_t *output) { pool(p, input, output, 0); }
