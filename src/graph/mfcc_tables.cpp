// The MFCC front end's tables (see mfcc_tables.h).
#include "graph/mfcc_tables.h"

#include <algorithm>
#include <cmath>

namespace mcuprune {

namespace {
double hz_to_mel(double hz) { return 1127.0 * std::log(1.0 + hz / 700.0); }
}  // namespace

std::vector<double> mel_weight_matrix(const MfccParams& p) {
  const int bins = p.bins();
  std::vector<double> m(size_t(bins) * p.mel_bins, 0.0);
  const double nyquist = p.sample_rate / 2.0;
  const double lo = hz_to_mel(p.lower_hz), hi = hz_to_mel(p.upper_hz);
  std::vector<double> edges(size_t(p.mel_bins) + 2);
  for (int i = 0; i < p.mel_bins + 2; ++i) edges[i] = lo + (hi - lo) * i / double(p.mel_bins + 1);
  // Bin 0 (DC) stays zero: the reference's bands_to_zero = 1.
  for (int b = 1; b < bins; ++b) {
    const double mel = hz_to_mel(nyquist * b / double(bins - 1));
    for (int k = 0; k < p.mel_bins; ++k) {
      const double down = (mel - edges[k]) / (edges[k + 1] - edges[k]);
      const double up = (edges[k + 2] - mel) / (edges[k + 2] - edges[k + 1]);
      m[size_t(b) * p.mel_bins + k] = std::max(0.0, std::min(down, up));
    }
  }
  return m;
}

int64_t MfccDeviceTables::flash_bytes() const {
  return int64_t(4 * (window.size() + twiddle_cos.size() + twiddle_sin.size() + band_weights.size() + dct.size()) +
                 2 * (band_start.size() + band_length.size()));
}

MfccDeviceTables mfcc_device_tables(const MfccParams& p) {
  p.check();
  MfccDeviceTables t;
  for (int n = 0; n < p.window; ++n) t.window.push_back(float(0.5 - 0.5 * std::cos(2.0 * M_PI * n / p.window)));
  for (int k = 0; k < p.fft / 2; ++k) {
    t.twiddle_cos.push_back(float(std::cos(2.0 * M_PI * k / p.fft)));
    t.twiddle_sin.push_back(float(std::sin(2.0 * M_PI * k / p.fft)));
  }
  const std::vector<double> m = mel_weight_matrix(p);
  for (int k = 0; k < p.mel_bins; ++k) {
    int first = -1, last = -1;
    for (int b = 0; b < p.bins(); ++b)
      if (m[size_t(b) * p.mel_bins + k] > 0) {
        if (first < 0) first = b;
        last = b;
      }
    if (first < 0) first = last = 0;  // an empty band (too narrow for the bins): weight 0
    t.band_start.push_back(int16_t(first));
    t.band_length.push_back(int16_t(last - first + 1));
    for (int b = first; b <= last; ++b) t.band_weights.push_back(float(m[size_t(b) * p.mel_bins + k]));
  }
  const double scale = std::sqrt(2.0 / p.mel_bins);
  for (int k = 0; k < p.coefficients; ++k)
    for (int n = 0; n < p.mel_bins; ++n)
      t.dct.push_back(float(scale * std::cos(M_PI * k * (2 * n + 1) / (2.0 * p.mel_bins))));
  t.scratch_floats = size_t(p.fft + 1 + p.mel_bins + p.coefficients);
  return t;
}

int64_t mfcc_multiplies(const MfccParams& p) {
  const MfccDeviceTables t = mfcc_device_tables(p);
  int64_t n = p.fft / 2, stages = 0;
  while ((int64_t(1) << stages) < n) ++stages;
  const int64_t per_frame = p.window                    // the window
                            + 2 * n * stages            // n/2 butterflies per stage, 4 multiplies each
                            + 4 * n                     // the real split: 8 multiplies per bin pair
                            + 2 * (n + 1)               // magnitudes
                            + int64_t(t.band_weights.size())  // mel bands
                            + int64_t(p.coefficients) * p.mel_bins;  // DCT
  return per_frame * p.frames();
}

}  // namespace mcuprune
