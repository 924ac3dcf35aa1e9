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

/* `scratch`: NULL, or mp_conv_scratch_bytes(p) bytes anywhere (an arena buffer the exporter
 * planned). With the DSP path and scratch, the kernel runs on im2col columns, two
 * output pixels by two output channels at a time; without scratch, four output channels at a
 * time share each input. The portable path ignores scratch. Every path computes the same. */
void mp_conv(const mp_conv_params *p, const int8_t *input, int8_t *output, void *scratch);
int32_t mp_conv_scratch_bytes(const mp_conv_params *p);

#endif
