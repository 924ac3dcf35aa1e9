/* CONV_2D, int8: per-output-channel weights (OHWI), int32 bias, requantisation per channel,
 * fused ReLU/ReLU6 as the [act_min, act_max] clamp. Padded taps hold the real value 0 (the
 * input zero point) and are skipped. */
#ifndef MP_CONV_H
#define MP_CONV_H

#include "window.h"

typedef struct {
  mp_window win;
  int32_t input_offset; /* minus the input zero point */
  int32_t output_zero_point, act_min, act_max;
  const int8_t *weights;     /* [out_c][kernel_h][kernel_w][in_c] */
  const int32_t *bias;       /* [out_c] */
  const int32_t *multiplier; /* [out_c] */
  const int32_t *shift;      /* [out_c] */
} mp_conv_params;

void mp_conv(const mp_conv_params *p, const int8_t *input, int8_t *output);

#endif
