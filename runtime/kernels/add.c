#include "add.h"

#include "fixed_point.h"

/* Any number of inputs: each input's terms one after the other (the reference the tests hold
 * the two-input loop to). */
void mp_add_reference(const mp_add_params *p, const int8_t *const *inputs, int8_t *output) {
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

/* mp_requantize with its case chosen once per operator (values below 2^28 in magnitude:
 * left-shifted int8 differences and their sums, so INT32_MIN never occurs):
 * - mode 0, shift 0 (the larger input's 0.5 in TFLite's ADD): one rounding multiply;
 * - mode 1, shift <= -2 and a non-negative multiplier: mp_requantize_lean_fast;
 * - mode 2, shift -1 and a non-negative multiplier: with e = 1 the derivation in
 *   fixed_point.h gives floor((x m + 2^30 + (1 - s) 2^31) / 2^32), s = [x < 0]: the high word
 *   of one multiply-accumulate;
 * - mode 3: anything else, the full function. */
typedef struct {
  int32_t multiplier, shift, round, e1, mode;
} add_scale;

static add_scale add_scale_of(int32_t multiplier, int32_t shift) {
  add_scale r;
  r.multiplier = multiplier, r.shift = shift, r.round = 0, r.e1 = 0;
  r.mode = shift == 0 ? 0 : mp_requantize_lean_ok(multiplier, shift) ? 1 : shift == -1 && multiplier >= 0 ? 2 : 3;
  if (r.mode == 1) r.round = mp_requantize_lean_round(shift), r.e1 = -shift - 1;
  return r;
}

#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline int32_t add_rescale(int32_t x, const add_scale *s, int mode) {
  if (mode == 0) return (int32_t)(((int64_t)x * s->multiplier + ((int64_t)1 << 30)) >> 31);
  if (mode == 1) return mp_requantize_lean_fast(x, s->multiplier, s->round, s->e1);
  if (mode == 2) return (int32_t)(((int64_t)x * s->multiplier + (int64_t)(0x40000000u | (~(uint32_t)x & 0x80000000u))) >> 32);
  return mp_requantize(x, s->multiplier, s->shift);
}

/* Two inputs (every residual connection) with the inputs' modes ma and mb and the output's
 * mo: the same arithmetic as the reference. The output may be one of the inputs' buffers
 * (in-place ADD): each element is read before it is written. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline void add2_loop(const mp_add_params *p, const int8_t *a, const int8_t *b, int8_t *output, int ma, int mb,
                             int mo) {
  const int32_t za = p->input_zero_point[0], zb = p->input_zero_point[1], ls = p->left_shift;
  const int32_t zo = p->output_zero_point, lo = p->act_min, hi = p->act_max, n = p->size;
  /* local copies (add2 derived the modes from the same calls): the loop keeps them in
   * registers, where pointers to add2's copies would be reloaded after every store (about
   * 5 instructions per value more, measured) */
  const add_scale sa = add_scale_of(p->input_multiplier[0], p->input_shift[0]);
  const add_scale sb = add_scale_of(p->input_multiplier[1], p->input_shift[1]);
  const add_scale so = add_scale_of(p->output_multiplier, p->output_shift);
  int32_t k;
  for (k = 0; k < n; ++k) {
    const int32_t xa = ((int32_t)a[k] - za) * (1 << ls), xb = ((int32_t)b[k] - zb) * (1 << ls);
    const int32_t sum = add_rescale(xa, &sa, ma) + add_rescale(xb, &sb, mb);
    output[k] = mp_clamp8(add_rescale(sum, &so, mo) + zo, lo, hi);
  }
}

/* The combinations TFLite's parameters give (one input at shift 0, the output lean) as loops
 * of their own; any other through the general modes. */
static void add2(const mp_add_params *p, const int8_t *a, const int8_t *b, int8_t *output) {
  const int ma = add_scale_of(p->input_multiplier[0], p->input_shift[0]).mode;
  const int mb = add_scale_of(p->input_multiplier[1], p->input_shift[1]).mode;
  if (add_scale_of(p->output_multiplier, p->output_shift).mode == 1) {
    if (ma == 0 && mb == 0) { add2_loop(p, a, b, output, 0, 0, 1); return; }
    if (ma == 0 && mb == 1) { add2_loop(p, a, b, output, 0, 1, 1); return; }
    if (ma == 0 && mb == 2) { add2_loop(p, a, b, output, 0, 2, 1); return; }
    if (ma == 1 && mb == 0) { add2_loop(p, a, b, output, 1, 0, 1); return; }
    if (ma == 2 && mb == 0) { add2_loop(p, a, b, output, 2, 0, 1); return; }
  }
  add2_loop(p, a, b, output, 3, 3, 3);
}

void mp_add(const mp_add_params *p, const int8_t *const *inputs, int8_t *output) {
  if (p->n_inputs == 2 && p->left_shift >= 0 && p->left_shift <= 23) {
    add2(p, inputs[0], inputs[1], output);
    return;
  }
  mp_add_reference(p, inputs, output);
}
