/* CONCATENATION along channels of HWC tensors with the same height and width. An input
 * whose quantisation differs from the output's is rescaled: q_out = round(q * s + b) + zp_out
 * with s = scale_in / scale_out and b = -zp_in * s in float (single precision). */
#ifndef MP_CONCAT_H
#define MP_CONCAT_H

#include <stdint.h>

#define MP_CONCAT_MAX_INPUTS 8

typedef struct {
  int32_t n_inputs, pixels, out_c;
  int32_t channels[MP_CONCAT_MAX_INPUTS];
  int32_t same[MP_CONCAT_MAX_INPUTS]; /* 1: same quantisation as the output, a copy */
  float scale[MP_CONCAT_MAX_INPUTS], bias[MP_CONCAT_MAX_INPUTS];
  int32_t output_zero_point;
} mp_concat_params;

void mp_concat(const mp_concat_params *p, const int8_t *const *inputs, int8_t *output);

#endif
