// The MFCC front end's constant tables, shared by the host front end (data/mfcc.h), the
// resource model (their flash) and the C export (runtime/kernels/mfcc.h reads them).
#pragma once

#include <cstdint>
#include <vector>

#include "graph/graph.h"

namespace mcuprune {

// The mel weight matrix, bins() x mel_bins (row-major), as tf.signal.linear_to_mel_weight_matrix
// builds it: HTK mel scale 1127 ln(1 + f / 700), band edges evenly spaced in mel between
// lower_hz and upper_hz, triangles over the linear bin frequencies, the DC bin zeroed.
std::vector<double> mel_weight_matrix(const MfccParams& p);

// The tables of the device front end (runtime/kernels/mfcc.h), in single precision: the
// window, the twiddles cos/sin(2 pi k / fft) for k < fft / 2, each mel band's first bin,
// length and weights (the nonzero part of its column of mel_weight_matrix), the DCT matrix.
struct MfccDeviceTables {
  std::vector<float> window, twiddle_cos, twiddle_sin, band_weights, dct;
  std::vector<int16_t> band_start, band_length;
  int64_t flash_bytes() const;  // what the tables take in flash
  size_t scratch_floats = 0;    // fft + 1 + mel_bins + coefficients
};
MfccDeviceTables mfcc_device_tables(const MfccParams& p);

// Multiplications of the device front end per clip (window, FFT butterflies and split,
// magnitudes, mel bands, DCT): its work in the resource model's element operations.
int64_t mfcc_multiplies(const MfccParams& p);

}  // namespace mcuprune
