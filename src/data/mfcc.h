// The keyword-spotting front end on the host: MFCC features of a 1 s clip as MLPerf Tiny's
// KWS reference computes them (benchmark/training/keyword_spotting, get_dataset.py: the clip
// divided by its largest sample, tf.signal.stft with a periodic Hann window, |STFT|, the
// mel weight matrix of tf.signal.linear_to_mel_weight_matrix, log(mel + 1e-6),
// tf.signal.mfccs_from_log_mel_spectrograms, the first coefficients). Computed in double
// with FFTW; every constant is documented in docs/datasets.md. The device computes the same
// features in runtime/ (float on a Cortex-M4F).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "graph/mfcc_tables.h"

namespace mcuprune {


// One front end instance (FFTW plan and buffers): not thread-safe, make one per thread.
class MfccFrontEnd {
 public:
  explicit MfccFrontEnd(const MfccParams& p);
  ~MfccFrontEnd();
  MfccFrontEnd(const MfccFrontEnd&) = delete;
  MfccFrontEnd& operator=(const MfccFrontEnd&) = delete;

  const MfccParams& params() const { return p_; }
  // clip: clip_samples values (int16 / 32768, any scale: the clip is divided by its largest
  // value first; a clip whose largest value is <= 0, such as digital silence, is left as it
  // is, where the reference would divide by zero). out: frames() x coefficients, row-major.
  void compute(const float* clip, float* out);
  // The magnitude spectrum of one frame of a clip (after the peak division), bins() values:
  // for tests.
  std::vector<double> spectrum(const float* clip, int frame);
  // The mel energies of one frame (before the log), mel_bins values: for tests.
  std::vector<double> mel(const float* clip, int frame);

 private:
  void frame_spectrum(const double* x, int frame);
  MfccParams p_;
  std::vector<double> window_, mel_, dct_;  // Hann window, mel matrix, DCT (coeffs x mel)
  std::vector<double> scaled_, mag_;
  struct Fft;
  std::unique_ptr<Fft> fft_;
};

}  // namespace mcuprune
