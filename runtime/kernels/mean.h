/* MEAN over height and width (global average pool), int8, same quantisation in and out. */
#ifndef MP_MEAN_H
#define MP_MEAN_H

#include "window.h"

typedef struct {
  mp_shape in;
} mp_mean_params;

void mp_mean(const mp_mean_params *p, const int8_t *input, int8_t *output);

#endif
