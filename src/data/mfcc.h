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

namespace mcuprune {

struct MfccParams {
  int sample_rate = 16000;     // Hz (Speech Commands)
  int clip_samples = 16000;    // 1 s clips (clip_duration_ms 1000)
  int window = 480;            // 30 ms (window_size_ms 30)
  int stride = 320;            // 20 ms (window_stride_ms 20)
  int fft = 512;               // tf.signal.stft's fft_length=None: next power of 2 >= window
  int mel_bins = 40;           // num_mel_bins
  double lower_hz = 20.0;      // lower_edge_hertz
  double upper_hz = 4000.0;    // upper_edge_hertz
  int coefficients = 10;       // dct_coefficient_count
  double log_offset = 1e-6;    // log(mel + 1e-6)

  int frames() const { return 1 + (clip_samples - window) / stride; }  // 49
  int bins() const { return fft / 2 + 1; }                             // 257
  // Throws UserError when a value is out of range (window > fft, upper_hz > Nyquist, ...).
  void check() const;
  // A stable text form of every parameter: part of the feature cache's key.
  std::string key() const;
};

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
  size_t scratch_floats = 0;    // fft + mel_bins + coefficients
};
MfccDeviceTables mfcc_device_tables(const MfccParams& p);

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
