/* RESHAPE (flatten; dropout at inference): HWC data is already in flatten order, a copy. */
#ifndef MP_RESHAPE_H
#define MP_RESHAPE_H

#include <stdint.h>

typedef struct {
  int32_t size;
} mp_reshape_params;

void mp_reshape(const mp_reshape_params *p, const int8_t *input, int8_t *output);

#endif
