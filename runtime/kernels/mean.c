#include "mean.h"

#include "fixed_point.h"

void mp_mean(const mp_mean_params *p, const int8_t *input, int8_t *output) {
  const int32_t count = p->in.h * p->in.w;
  int32_t c, k;
  for (c = 0; c < p->in.c; ++c) {
    int32_t acc = 0;
    for (k = 0; k < count; ++k) acc += input[(int64_t)k * p->in.c + c];
    output[c] = mp_clamp8(mp_rounded_average(acc, count), -128, 127);
  }
}
