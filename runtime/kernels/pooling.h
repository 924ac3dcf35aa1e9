/* MAX_POOL_2D and AVERAGE_POOL_2D, int8: the output keeps the input's quantisation; padded
 * positions are excluded (the average divides by the taps inside the input, rounding half
 * away from zero). */
#ifndef MP_POOLING_H
#define MP_POOLING_H

#include "window.h"

typedef struct {
  mp_window win;
} mp_pool_params;

void mp_max_pool(const mp_pool_params *p, const int8_t *input, int8_t *output);
void mp_avg_pool(const mp_pool_params *p, const int8_t *input, int8_t *output);

#endif
