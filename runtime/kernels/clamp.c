#include "clamp.h"

#include "fixed_point.h"

void mp_clamp(const mp_clamp_params *p, const int8_t *input, int8_t *output) {
  int32_t k;
  for (k = 0; k < p->size; ++k) output[k] = mp_clamp8(input[k], p->act_min, p->act_max);
}
