/* SOFTMAX over a vector, int8 in, int8 out with scale 1/256 and zero point -128 (TFLite's
 * int8 convention). The exponentials are computed in double precision from the input
 * scale, as TFLite's reference kernel computes them in float. */
#ifndef MP_SOFTMAX_H
#define MP_SOFTMAX_H

#include <stdint.h>

typedef struct {
  int32_t size;
  float input_scale;
  float output_scale;
  int32_t output_zero_point;
} mp_softmax_params;

void mp_softmax(const mp_softmax_params *p, const int8_t *input, int8_t *output);

#endif
