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


}  // namespace

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
