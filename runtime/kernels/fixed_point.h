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

/* x * multiplier * 2^(shift - 31); a left shift that overflows int32 saturates. The
 * reference composition of the two steps above (tests hold mp_requantize to it). */
static inline int32_t mp_requantize_reference(int32_t x, int32_t multiplier, int32_t shift) {
  const int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
  const int64_t shifted = (int64_t)x * ((int64_t)1 << left);
  const int32_t sx = shifted > INT32_MAX ? INT32_MAX : shifted < INT32_MIN ? INT32_MIN : (int32_t)shifted;
  return mp_rounding_divide_by_pot(mp_doubling_high_mul(sx, multiplier), right);
}

/* The same function in fewer instructions (every kernel requantises each output with it),
 * for shift <= 0, i.e. a right shift by e = -shift:
 * - the doubling high multiply: with nudge 2^30 for ab >= 0 and 1 - 2^30 for ab < 0, the
 *   quotient truncated toward zero equals h = floor(P / 2^31) with P = ab + 2^30 in both
 *   cases (for ab < 0, trunc(S / 2^31) = floor((S + 2^31 - 1) / 2^31), S + 2^31 - 1 = P);
 * - the rounding division of h by 2^e (half away from zero) is floor((h + 2^(e-1) - s) / 2^e)
 *   with s = 1 when h < 0, i.e. when P < 0;
 * - nested floors of integer quotients compose: the result is
 *   floor((P + 2^(30+e) - s 2^31) / 2^(31+e)), whose 64-bit sum cannot overflow; for
 *   e >= 2, 2^(30+e) is a multiple of 2^32, so the quotient is the high word H of
 *   P - s 2^31 plus 2^(e-2), shifted right by e - 1 (|H| < 2^30: no overflow).
 * One multiply-accumulate, a conditional subtract, one add and one shift. */
static inline int32_t mp_requantize(int32_t x, int32_t multiplier, int32_t shift) {
  int64_t p;
  int32_t e, hi;
  if (shift > 0 || shift < -31 || (multiplier == INT32_MIN && x == INT32_MIN))
    return mp_requantize_reference(x, multiplier, shift);
  e = -shift;
  p = (int64_t)x * multiplier + ((int64_t)1 << 30);
  if (e == 0) return (int32_t)(p >> 31);
  if (p < 0) p -= (int64_t)1 << 31;
  if (e == 1) return (int32_t)((p + ((int64_t)1 << 31)) >> 32);
  hi = (int32_t)(p >> 32);
  return (hi + (1 << (e - 2))) >> (e - 1);
}

/* mp_requantize for the common case 2 <= e = -shift <= 31 and multiplier >= 0 (the kernels
 * check an op's channels once), with its constants per channel: mp_requantize_lean_round(e)
 * and e - 1. From the form above with s = [P < 0]: for m > 0 and x < 0 <= P, that is
 * -2^30 <= x m < 0, both s = 0 and s = 1 give 0 (the numerator stays in [0, 2^(31+e)) for
 * e >= 1), and for m = 0 so does any s; hence s = [x < 0]. The constant
 * 2^30 + 2^(30+e) - s 2^31 has the high word 2^(e-2) - s and the low word 2^30 | (x & 2^31),
 * so the whole sum is one multiply-accumulate from them, and the result its high word
 * shifted right by e - 1. */
static inline int mp_requantize_lean_ok(int32_t multiplier, int32_t shift) {
  return shift <= -2 && shift >= -31 && multiplier >= 0;
}
static inline int32_t mp_requantize_lean_round(int32_t shift) { return 1 << (-shift - 2); }
static inline int32_t mp_requantize_lean_fast(int32_t x, int32_t multiplier, int32_t round, int32_t e1) {
  const uint32_t lo = 0x40000000u | ((uint32_t)x & 0x80000000u);
  const int32_t hi = round + (x >> 31);
  const int64_t q = (int64_t)(((uint64_t)(uint32_t)hi << 32) | lo) + (int64_t)x * multiplier;
  return (int32_t)(q >> 32) >> e1;
}
static inline int32_t mp_requantize_lean(int32_t x, int32_t multiplier, int32_t shift) {
  return mp_requantize_lean_fast(x, multiplier, mp_requantize_lean_round(shift), -shift - 1);
}

static inline int8_t mp_clamp8(int32_t v, int32_t lo, int32_t hi) {
  return (int8_t)(v < lo ? lo : v > hi ? hi : v);
}

/* TFLite's integer average: the sum divided by count, rounding half away from zero. */
static inline int32_t mp_rounded_average(int32_t sum, int32_t count) {
  return sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
}

#endif
