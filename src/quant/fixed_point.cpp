// Fixed-point requantisation helpers (see fixed_point.h).
#include "quant/fixed_point.h"

#include <cmath>
#include <limits>

namespace mcuprune {

QuantizedMultiplier quantize_multiplier(double real) {
  QuantizedMultiplier r;
  if (real == 0.0) return r;
  int exponent = 0;
  const double fraction = std::frexp(real, &exponent);  // real = fraction * 2^exponent, |fraction| in [0.5, 1)
  int64_t q = int64_t(std::llround(fraction * double(int64_t(1) << 31)));
  if (q == (int64_t(1) << 31)) {  // rounding reached 1.0
    q /= 2;
    ++exponent;
  }
  if (exponent < -31) {  // too small to represent: the product is zero anyway
    exponent = 0;
    q = 0;
  }
  r.multiplier = int32_t(q);
  r.shift = exponent;
  return r;
}

int32_t saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
  if (a == b && a == std::numeric_limits<int32_t>::min()) return std::numeric_limits<int32_t>::max();
  const int64_t ab = int64_t(a) * int64_t(b);
  const int64_t nudge = ab >= 0 ? (int64_t(1) << 30) : (1 - (int64_t(1) << 30));
  // Division (not a shift) truncates toward zero, which with the nudge rounds to nearest.
  return int32_t((ab + nudge) / (int64_t(1) << 31));
}

int32_t rounding_divide_by_pot(int32_t x, int exponent) {
  if (exponent <= 0) return x;
  const int32_t mask = int32_t((int64_t(1) << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

int32_t multiply_by_quantized_multiplier(int32_t x, const QuantizedMultiplier& m) {
  const int left = m.shift > 0 ? m.shift : 0;
  const int right = m.shift > 0 ? 0 : -m.shift;
  const int64_t shifted = int64_t(x) * (int64_t(1) << left);
  const int32_t sx = shifted > std::numeric_limits<int32_t>::max()   ? std::numeric_limits<int32_t>::max()
                     : shifted < std::numeric_limits<int32_t>::min() ? std::numeric_limits<int32_t>::min()
                                                                      : int32_t(shifted);
  return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(sx, m.multiplier), right);
}

}  // namespace mcuprune
