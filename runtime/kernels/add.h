/* ADD of n int8 tensors of one shape (TFLite's int8 ADD, generalised to n inputs): each
 * input minus its zero point is shifted left by left_shift, rescaled to twice the largest
 * input scale, summed, rescaled to the output and clamped by the fused activation. */
#ifndef MP_ADD_H
#define MP_ADD_H

#include <stdint.h>

#define MP_ADD_MAX_INPUTS 8

typedef struct {
  int32_t n_inputs, size, left_shift;
  int32_t input_zero_point[MP_ADD_MAX_INPUTS];
  int32_t input_multiplier[MP_ADD_MAX_INPUTS], input_shift[MP_ADD_MAX_INPUTS];
  int32_t output_multiplier, output_shift;
  int32_t output_zero_point, act_min, act_max;
} mp_add_params;

void mp_add(const mp_add_params *p, const int8_t *const *inputs, int8_t *output);
/* The same sums input by input, for any n_inputs (the tests' reference). */
void mp_add_reference(const mp_add_params *p, const int8_t *const *inputs, int8_t *output);

#endif
