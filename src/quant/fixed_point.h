// TensorFlow-Lite-compatible integer requantisation: a real multiplier M in (0, 1) or
// beyond is stored as a Q31 integer and a power-of-two shift, and applied to int32
// accumulators with round-to-nearest (ties toward +infinity in the doubling high multiply,
// ties away from zero in the power-of-two divide), exactly as TFLite's reference kernels do.
// These functions are the ground truth for every int8 output in the project.
#pragma once

#include <cstdint>

namespace mcuprune {

struct QuantizedMultiplier {
  int32_t multiplier = 0;  // Q31, in [2^30, 2^31) unless the real value was 0
  int shift = 0;           // > 0: left shift, < 0: right shift
};

// Decomposes real = multiplier * 2^(shift - 31).
QuantizedMultiplier quantize_multiplier(double real);

// a * b / 2^31 rounded to nearest (ties toward +infinity); INT32_MIN^2 saturates.
int32_t saturating_rounding_doubling_high_mul(int32_t a, int32_t b);

// x / 2^exponent rounded to nearest, ties away from zero.
int32_t rounding_divide_by_pot(int32_t x, int exponent);

// x * real multiplier, as TFLite's MultiplyByQuantizedMultiplier (a left shift that would
// overflow int32 saturates here; TFLite leaves that case undefined).
int32_t multiply_by_quantized_multiplier(int32_t x, const QuantizedMultiplier& m);

}  // namespace mcuprune
