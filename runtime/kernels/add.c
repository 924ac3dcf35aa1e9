#include "add.h"

#include "fixed_point.h"

void mp_add(const mp_add_params *p, const int8_t *const *inputs, int8_t *output) {
  int32_t k, j;
  for (k = 0; k < p->size; ++k) {
    int32_t sum = 0;
    for (j = 0; j < p->n_inputs; ++j) {
      const int32_t shifted = ((int32_t)inputs[j][k] - p->input_zero_point[j]) * (1 << p->left_shift);
      sum += mp_requantize(shifted, p->input_multiplier[j], p->input_shift[j]);
    }
    output[k] = mp_clamp8(mp_requantize(sum, p->output_multiplier, p->output_shift) + p->output_zero_point,
                          p->act_min, p->act_max);
  }
}
