#include "fully_connected.h"

#include "dot.h"
#include "fixed_point.h"

void mp_fully_connected(const mp_fully_connected_params *p, const int8_t *input, int8_t *output) {
  int32_t o;
  for (o = 0; o < p->out_features; ++o) {
    const int32_t acc = mp_dot(input, p->weights + (int64_t)o * p->in_features, p->in_features, p->input_offset,
                               p->bias[o]);
    output[o] = mp_clamp8(mp_requantize(acc, p->multiplier, p->shift) + p->output_zero_point, p->act_min,
                          p->act_max);
  }
}
