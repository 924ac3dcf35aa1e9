#include "softmax.h"

#include <math.h>

#include "fixed_point.h"

void mp_softmax(const mp_softmax_params *p, const int8_t *input, int8_t *output) {
  /* Two passes over exp() rather than a buffer of exponentials: no stack that grows with the
   * size, and the second pass recomputes exactly the same values. */
  double sum = 0;
  int32_t k, mx = -128;
  for (k = 0; k < p->size; ++k) mx = input[k] > mx ? input[k] : mx;
  for (k = 0; k < p->size; ++k) sum += exp((double)p->input_scale * (double)((int32_t)input[k] - mx));
  for (k = 0; k < p->size; ++k) {
    const double e = exp((double)p->input_scale * (double)((int32_t)input[k] - mx));
    output[k] = mp_clamp8((int32_t)lround(e / sum / (double)p->output_scale) + p->output_zero_point, -128, 127);
  }
}
