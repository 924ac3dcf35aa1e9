/* FULLY_CONNECTED, int8: weights [out][in] with one scale (per tensor), int32 bias. */
#ifndef MP_FULLY_CONNECTED_H
#define MP_FULLY_CONNECTED_H

#include <stdint.h>

typedef struct {
  int32_t in_features, out_features;
  int32_t input_offset;
  int32_t output_zero_point, act_min, act_max;
  int32_t multiplier, shift;
  const int8_t *weights; /* [out_features][in_features] */
  const int32_t *bias;   /* [out_features] */
} mp_fully_connected_params;

void mp_fully_connected(const mp_fully_connected_params *p, const int8_t *input, int8_t *output);

#endif
