/* DEPTHWISE_CONV_2D, int8: output channel o reads input channel o / depth_multiplier;
 * weights [kernel_h][kernel_w][out_c] (TFLite's 1HWC), per-channel requantisation. */
#ifndef MP_DEPTHWISE_CONV_H
#define MP_DEPTHWISE_CONV_H

#include "window.h"

typedef struct {
  mp_window win;
  int32_t depth_multiplier;
  int32_t input_offset;
  int32_t output_zero_point, act_min, act_max;
  const int8_t *weights;     /* [kernel_h][kernel_w][out_c] */
  const int32_t *bias;       /* [out_c] */
  const int32_t *multiplier; /* [out_c] */
  const int32_t *shift;      /* [out_c] */
} mp_depthwise_conv_params;

/* `scratch`: unused (mp_depthwise_conv_scratch_bytes is 0; the parameter keeps the kernels'
 * calls alike). With the DSP path, multiplier 1 runs four channels at a time, the weights
 * sign-extended once per group, an inside 3x3 pixel in one unrolled sequence. Every path
 * computes the same. */
void mp_depthwise_conv(const mp_depthwise_conv_params *p, const int8_t *input, int8_t *output, void *scratch);
int32_t mp_depthwise_conv_scratch_bytes(const mp_depthwise_conv_params *p);

#endif
