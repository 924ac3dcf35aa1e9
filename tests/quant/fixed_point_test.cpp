// TFLite-compatible requantisation arithmetic against hand-worked golden values.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "quant/fixed_point.h"

namespace mcuprune {
namespace {

TEST(FixedPoint, QuantizeMultiplierGoldenValues) {
  // real = multiplier * 2^(shift - 31), multiplier in [2^30, 2^31).
  auto q = quantize_multiplier(0.5);  // 0.5 = 0.5 * 2^0 -> 2^30, shift 0
  EXPECT_EQ(q.multiplier, 1073741824);
  EXPECT_EQ(q.shift, 0);
  q = quantize_multiplier(1.0);  // 0.5 * 2^1
  EXPECT_EQ(q.multiplier, 1073741824);
  EXPECT_EQ(q.shift, 1);
  q = quantize_multiplier(0.25);  // 0.5 * 2^-1
  EXPECT_EQ(q.multiplier, 1073741824);
  EXPECT_EQ(q.shift, -1);
  q = quantize_multiplier(0.75);  // 0.75 * 2^31 = 1610612736
  EXPECT_EQ(q.multiplier, 1610612736);
  EXPECT_EQ(q.shift, 0);
  q = quantize_multiplier(1.0 / 3.0);  // 0.6666.. * 2^-1; round(0.6666.. * 2^31) = 1431655765
  EXPECT_EQ(q.multiplier, 1431655765);
  EXPECT_EQ(q.shift, -1);
  q = quantize_multiplier(0.0);
  EXPECT_EQ(q.multiplier, 0);
  q = quantize_multiplier(std::ldexp(0.9999999999, 0));  // rounds up to 2^31: becomes 2^30, shift +1
  EXPECT_EQ(q.multiplier, 1073741824);
  EXPECT_EQ(q.shift, 1);
}

TEST(FixedPoint, SaturatingRoundingDoublingHighMul) {
  // a * b / 2^31, nudged by +2^30 (or 1 - 2^30 when negative) then truncated toward zero.
  EXPECT_EQ(saturating_rounding_doubling_high_mul(1 << 30, 1 << 30), 1 << 29);  // 2^29 + 0.5 -> trunc
  EXPECT_EQ(saturating_rounding_doubling_high_mul(3, 1 << 30), 2);   // 1.5 -> 2
  EXPECT_EQ(saturating_rounding_doubling_high_mul(-3, 1 << 30), -1);  // -1.5 -> -1 (ties toward +inf)
  EXPECT_EQ(saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MIN), INT32_MAX);
  EXPECT_EQ(saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MAX), -INT32_MAX);  // -(2^31-1)
}

TEST(FixedPoint, RoundingDivideByPowerOfTwo) {
  EXPECT_EQ(rounding_divide_by_pot(5, 1), 3);    // 2.5 -> 3
  EXPECT_EQ(rounding_divide_by_pot(-5, 1), -3);  // -2.5 -> -3 (ties away from zero)
  EXPECT_EQ(rounding_divide_by_pot(7, 2), 2);    // 1.75 -> 2
  EXPECT_EQ(rounding_divide_by_pot(-7, 2), -2);  // -1.75 -> -2
  EXPECT_EQ(rounding_divide_by_pot(6, 2), 2);    // 1.5 -> 2
  EXPECT_EQ(rounding_divide_by_pot(-6, 2), -2);  // -1.5 -> -2
  EXPECT_EQ(rounding_divide_by_pot(9, 0), 9);
}

TEST(FixedPoint, MultiplyByQuantizedMultiplierGoldenValues) {
  EXPECT_EQ(multiply_by_quantized_multiplier(100, quantize_multiplier(0.5)), 50);
  EXPECT_EQ(multiply_by_quantized_multiplier(101, quantize_multiplier(0.5)), 51);   // 50.5 -> 51
  EXPECT_EQ(multiply_by_quantized_multiplier(-101, quantize_multiplier(0.5)), -50);  // -50.5 -> -50
  EXPECT_EQ(multiply_by_quantized_multiplier(1000, quantize_multiplier(0.25)), 250);
  EXPECT_EQ(multiply_by_quantized_multiplier(3, quantize_multiplier(1.0)), 3);
  EXPECT_EQ(multiply_by_quantized_multiplier(3, quantize_multiplier(2.0)), 6);
}

TEST(FixedPoint, MatchesRealArithmeticWithinOneUnit) {
  std::mt19937_64 rng(7);
  for (int t = 0; t < 20000; ++t) {
    double real = std::ldexp(0.5 + double(rng() % 1000000) / 2e6, -int(rng() % 20));
    int32_t x = int32_t(int64_t(rng() % 2000001) - 1000000);
    double want = x * real;
    int32_t got = multiply_by_quantized_multiplier(x, quantize_multiplier(real));
    ASSERT_LE(std::fabs(got - want), 1.0) << "x " << x << " real " << real;
  }
}

}  // namespace
}  // namespace mcuprune
