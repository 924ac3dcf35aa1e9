/* RELU / RELU6 not fused into a producer: a clamp to [act_min, act_max]; same quantisation
 * in and out. */
#ifndef MP_CLAMP_H
#define MP_CLAMP_H

#include <stdint.h>

typedef struct {
  int32_t size, act_min, act_max;
} mp_clamp_params;

void mp_clamp(const mp_clamp_params *p, const int8_t *input, int8_t *output);

#endif
