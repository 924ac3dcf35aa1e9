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

#endif
