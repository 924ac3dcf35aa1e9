/* Geometry shared by convolutions and pools: tensors are HWC, one sample. */
#ifndef MP_WINDOW_H
#define MP_WINDOW_H

#include <stdint.h>

typedef struct {
  int32_t h, w, c;
} mp_shape;

typedef struct {
  mp_shape in, out;
  int32_t kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w;
  int32_t pad_top, pad_left; /* the bottom/right padding follows from the output size */
} mp_window;

/* The taps k in [*lo, *hi) of a kernel of `size` taps with dilation `dilation`, starting at
 * input coordinate `start`, that fall inside [0, extent): computed once per output pixel
 * so that the inner loops need no bounds checks. */
static inline void mp_tap_range(int32_t start, int32_t dilation, int32_t size, int32_t extent, int32_t *lo,
                                int32_t *hi) {
  int32_t a = 0, b = size;
  while (a < b && start + a * dilation < 0) ++a;
  while (b > a && start + (b - 1) * dilation >= extent) --b;
  *lo = a;
  *hi = b;
}

#endif
