// The host MFCC front end (see mfcc.h for the reference it follows).
#include "data/mfcc.h"

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>

#include "graph/graph.h"

namespace mcuprune {

namespace {

// FFTW's planner is not thread-safe; execution on a plan's own buffers is.
std::mutex& planner_mutex() {
  static std::mutex m;
  return m;
}

double hz_to_mel(double hz) { return 1127.0 * std::log(1.0 + hz / 700.0); }

}  // namespace

void MfccParams::check() const {
  auto bad = [](const std::string& what) {
    throw UserError("MFCC front end: " + what + " (the defaults are MLPerf Tiny's: 16000 Hz, 1 s clips, "
                    "480-sample window, 320 stride, 512-point FFT, 40 mel bands from 20 to 4000 Hz, "
                    "10 coefficients)");
  };
  if (sample_rate < 1000 || sample_rate > 192000) bad("sample rate " + std::to_string(sample_rate) + " Hz is out of range");
  if (window < 16 || window > clip_samples) bad("window of " + std::to_string(window) + " samples must be in [16, clip length]");
  if (stride < 1) bad("stride must be >= 1");
  if (fft < window || (fft & (fft - 1)) != 0 || fft > 65536)
    bad("FFT length " + std::to_string(fft) + " must be a power of two >= the window");
  if (mel_bins < 1 || mel_bins > 256) bad("mel band count must be in [1, 256]");
  if (coefficients < 1 || coefficients > mel_bins) bad("coefficient count must be in [1, mel bands]");
  if (!(lower_hz >= 0 && lower_hz < upper_hz && upper_hz <= sample_rate / 2.0))
    bad("mel range must satisfy 0 <= lower < upper <= sample rate / 2");
  if (!(log_offset > 0)) bad("log offset must be > 0");
}

std::string MfccParams::key() const {
  char buf[256];
  std::snprintf(buf, sizeof buf, "mfcc-v1 rate=%d clip=%d window=%d stride=%d fft=%d mel=%d lo=%.17g hi=%.17g coeffs=%d off=%.17g",
                sample_rate, clip_samples, window, stride, fft, mel_bins, lower_hz, upper_hz, coefficients,
                log_offset);
  return buf;
}

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
  t.scratch_floats = size_t(p.fft + p.mel_bins + p.coefficients);
  return t;
}

struct MfccFrontEnd::Fft {
  double* in = nullptr;
  fftw_complex* out = nullptr;
  fftw_plan plan = nullptr;
  ~Fft() {
    std::lock_guard<std::mutex> lock(planner_mutex());
    if (plan) fftw_destroy_plan(plan);
    fftw_free(in);
    fftw_free(out);
  }
};

MfccFrontEnd::MfccFrontEnd(const MfccParams& p) : p_(p), fft_(std::make_unique<Fft>()) {
  p_.check();
  window_.resize(size_t(p_.window));
  // Periodic Hann window (tf.signal.hann_window's default): 0.5 - 0.5 cos(2 pi n / N).
  for (int n = 0; n < p_.window; ++n) window_[n] = 0.5 - 0.5 * std::cos(2.0 * M_PI * n / p_.window);
  mel_ = mel_weight_matrix(p_);
  // DCT-II scaled as tf.signal.mfccs_from_log_mel_spectrograms: 2 sum x cos(...) / sqrt(2 N).
  dct_.resize(size_t(p_.coefficients) * p_.mel_bins);
  const double scale = std::sqrt(2.0 / p_.mel_bins);
  for (int k = 0; k < p_.coefficients; ++k)
    for (int n = 0; n < p_.mel_bins; ++n)
      dct_[size_t(k) * p_.mel_bins + n] = scale * std::cos(M_PI * k * (2 * n + 1) / (2.0 * p_.mel_bins));
  scaled_.resize(size_t(p_.clip_samples));
  mag_.resize(size_t(p_.bins()));
  std::lock_guard<std::mutex> lock(planner_mutex());
  fft_->in = fftw_alloc_real(size_t(p_.fft));
  fft_->out = fftw_alloc_complex(size_t(p_.bins()));
  if (!fft_->in || !fft_->out) throw std::bad_alloc();
  fft_->plan = fftw_plan_dft_r2c_1d(p_.fft, fft_->in, fft_->out, FFTW_ESTIMATE);
  if (!fft_->plan) throw std::runtime_error("FFTW could not plan a " + std::to_string(p_.fft) + "-point FFT");
}

MfccFrontEnd::~MfccFrontEnd() = default;

void MfccFrontEnd::frame_spectrum(const double* x, int frame) {
  const double* f = x + size_t(frame) * p_.stride;
  for (int n = 0; n < p_.window; ++n) fft_->in[n] = f[n] * window_[n];
  for (int n = p_.window; n < p_.fft; ++n) fft_->in[n] = 0.0;
  fftw_execute(fft_->plan);
  for (int b = 0; b < p_.bins(); ++b) mag_[b] = std::hypot(fft_->out[b][0], fft_->out[b][1]);
}

namespace {
void peak_scale(const float* clip, int n, std::vector<double>& out) {
  float peak = clip[0];
  for (int i = 1; i < n; ++i) peak = std::max(peak, clip[i]);
  const double s = peak > 0 ? 1.0 / double(peak) : 1.0;
  for (int i = 0; i < n; ++i) out[i] = double(clip[i]) * s;
}
}  // namespace

void MfccFrontEnd::compute(const float* clip, float* out) {
  peak_scale(clip, p_.clip_samples, scaled_);
  std::vector<double> logmel(size_t(p_.mel_bins));
  for (int t = 0; t < p_.frames(); ++t) {
    frame_spectrum(scaled_.data(), t);
    std::fill(logmel.begin(), logmel.end(), 0.0);
    for (int b = 0; b < p_.bins(); ++b) {
      const double* row = mel_.data() + size_t(b) * p_.mel_bins;
      for (int k = 0; k < p_.mel_bins; ++k) logmel[k] += mag_[b] * row[k];
    }
    for (double& v : logmel) v = std::log(v + p_.log_offset);
    for (int k = 0; k < p_.coefficients; ++k) {
      double acc = 0;
      const double* d = dct_.data() + size_t(k) * p_.mel_bins;
      for (int n = 0; n < p_.mel_bins; ++n) acc += d[n] * logmel[n];
      out[size_t(t) * p_.coefficients + k] = float(acc);
    }
  }
}

std::vector<double> MfccFrontEnd::spectrum(const float* clip, int frame) {
  peak_scale(clip, p_.clip_samples, scaled_);
  frame_spectrum(scaled_.data(), frame);
  return mag_;
}

std::vector<double> MfccFrontEnd::mel(const float* clip, int frame) {
  spectrum(clip, frame);
  std::vector<double> m(size_t(p_.mel_bins), 0.0);
  for (int b = 0; b < p_.bins(); ++b)
    for (int k = 0; k < p_.mel_bins; ++k) m[k] += mag_[b] * mel_[size_t(b) * p_.mel_bins + k];
  return m;
}

}  // namespace mcuprune
