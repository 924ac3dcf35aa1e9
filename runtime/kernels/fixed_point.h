/* TensorFlow Lite's int8 requantisation arithmetic (the facts: gemmlowp's
 * SaturatingRoundingDoublingHighMul and RoundingDivideByPOT, TFLite's
 * MultiplyByQuantizedMultiplier). A real multiplier is multiplier * 2^(shift - 31) with a
 * Q31 multiplier; shift > 0 shifts left before the multiply, shift < 0 rounds right after. */
#ifndef MP_FIXED_POINT_H
#define MP_FIXED_POINT_H

#include <stdint.h>

/* a * b / 2^31 rounded to nearest (ties toward +infinity); INT32_MIN^2 saturates. */
static inline int32_t mp_doubling_high_mul(int32_t a, int32_t b) {
  int64_t ab, nudge;
  if (a == b && a == INT32_MIN) return INT32_MAX;
  ab = (int64_t)a * (int64_t)b;
  nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
  return (int32_t)((ab + nudge) / ((int64_t)1 << 31)); /* truncation toward zero */
}

/* x / 2^exponent rounded to nearest, ties away from zero (arithmetic right shift). */
static inline int32_t mp_rounding_divide_by_pot(int32_t x, int exponent) {
  int32_t mask, remainder, threshold;
  if (exponent <= 0) return x;
  mask = (int32_t)(((int64_t)1 << exponent) - 1);
  remainder = x & mask;
  threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * multiplier * 2^(shift - 31); a left shift that overflows int32 saturates. */
static inline int32_t mp_requantize(int32_t x, int32_t multiplier, int32_t shift) {
  const int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
  const int64_t shifted = (int64_t)x * ((int64_t)1 << left);
  const int32_t sx = shifted > INT32_MAX ? INT32_MAX : shifted < INT32_MIN ? INT32_MIN : (int32_t)shifted;
  return mp_rounding_divide_by_pot(mp_doubling_high_mul(sx, multiplier), right);
}

static inline int8_t mp_clamp8(int32_t v, int32_t lo, int32_t hi) {
  return (int8_t)(v < lo ? lo : v > hi ? hi : v);
}

/* TFLite's integer average: the sum divided by count, rounding half away from zero. */
static inline int32_t mp_rounded_average(int32_t sum, int32_t count) {
  return sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
}

#endif
