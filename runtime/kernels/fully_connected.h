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

/* `scratch`: NULL, or mp_fully_connected_scratch_bytes(p) bytes anywhere (an arena buffer
 * the exporter planned). With the DSP path and scratch, the input is converted to int16 once
 * and four rows run at a time on it; without, four rows share each input group as they go.
 * The portable path ignores scratch. Every path computes the same. */
void mp_fully_connected(const mp_fully_connected_params *p, const int8_t *input, int8_t *output, void *scratch);
int32_t mp_fully_connected_scratch_bytes(const mp_fully_connected_params *p);

#endif
