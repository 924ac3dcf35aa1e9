#include "concat.h"

#include <math.h>

#include "fixed_point.h"

void mp_concat(const mp_concat_params *p, const int8_t *const *inputs, int8_t *output) {
  int32_t j, px, c, off = 0;
  for (j = 0; j < p->n_inputs; ++j) {
    const int32_t cj = p->channels[j];
    for (px = 0; px < p->pixels; ++px)
      for (c = 0; c < cj; ++c) {
        const int8_t x = inputs[j][(int64_t)px * cj + c];
        int8_t *y = output + (int64_t)px * p->out_c + off + c;
        if (p->same[j]) {
          *y = x;
        } else {
          const float r = roundf((float)x * p->scale[j] + p->bias[j]);
          *y = mp_clamp8((int32_t)r + p->output_zero_point, -128, 127);
        }
      }
    off += cj;
  }
}
