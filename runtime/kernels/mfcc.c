#include "mfcc.h"

#include <math.h>
#include <string.h>

#include "fixed_point.h"

static int16_t sample_at(const int8_t *clip, int32_t i) {
  int16_t v;
  memcpy(&v, clip + 2 * i, 2); /* little-endian targets; any alignment */
  return v;
}

/* In-place radix-2 complex FFT of n = fft / 2 points on interleaved (re, im) floats. The
 * twiddles of the fft-point table are every other one for n points. */
static void complex_fft(float *z, int32_t n, const float *tc, const float *ts) {
  int32_t i, j = 0, len, k;
  for (i = 1; i < n; ++i) { /* bit reversal */
    int32_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j |= bit;
    if (i < j) {
      float t = z[2 * i]; z[2 * i] = z[2 * j]; z[2 * j] = t;
      t = z[2 * i + 1]; z[2 * i + 1] = z[2 * j + 1]; z[2 * j + 1] = t;
    }
  }
  for (len = 2; len <= n; len <<= 1) {
    const int32_t half = len >> 1, step = (2 * n) / len; /* twiddle stride in the fft table */
    for (i = 0; i < n; i += len) {
      for (k = 0; k < half; ++k) {
        const float wr = tc[k * step], wi = -ts[k * step];
        float *a = z + 2 * (i + k), *b = z + 2 * (i + k + half);
        const float br = b[0] * wr - b[1] * wi, bi = b[0] * wi + b[1] * wr;
        b[0] = a[0] - br;
        b[1] = a[1] - bi;
        a[0] += br;
        a[1] += bi;
      }
    }
  }
}

/* The largest sample's scale: samples are int16 / 32768 on the host, and dividing by the
 * peak cancels that scale; a clip whose largest value is <= 0 is left as it is. */
static float peak_scale(const mp_mfcc_params *p, const int8_t *clip) {
  int32_t i, peak = sample_at(clip, 0);
  for (i = 1; i < p->clip_samples; ++i) {
    const int32_t v = sample_at(clip, i);
    peak = v > peak ? v : peak;
  }
  return peak > 0 ? 1.0f / (float)peak : 1.0f / 32768.0f;
}

/* The coefficients of frame t into `out` (coefficients floats). The peak division is applied
 * to the mel energies (the spectrum is linear in the samples) rather than to every sample. */
static void frame_features(const mp_mfcc_params *p, const int8_t *clip, float scale, int32_t t, float *out) {
  const int32_t n = p->fft / 2, start = t * p->stride;
  float *z = p->scratch, *mel = p->scratch + p->fft + 1; /* z: fft + 1 floats (bin n at z[fft]) */
  int32_t i, k, b;
  float dc, nyq;
  for (i = 0; i < p->window; ++i) z[i] = (float)sample_at(clip, start + i) * p->window_fn[i];
  for (; i < p->fft; ++i) z[i] = 0.0f;
  /* The fft real values as n complex ones z[m] = x[2m] + i x[2m+1], transformed; then with
   * E[k] = (Z[k] + conj Z[n-k]) / 2 and O[k] = (Z[k] - conj Z[n-k]) / 2i (the spectra of the
   * even and odd samples, both Hermitian), X[k] = E[k] + e^{-2 pi i k / fft} O[k]. */
  complex_fft(z, n, p->twiddle_cos, p->twiddle_sin);
  dc = z[0] + z[1];
  nyq = z[0] - z[1];
  for (k = 1; k <= n / 2; ++k) {
    const int32_t m = n - k;
    const float ar = z[2 * k], ai = z[2 * k + 1], br = z[2 * m], bi = z[2 * m + 1];
    const float er = 0.5f * (ar + br), ei = 0.5f * (ai - bi);
    const float orr = 0.5f * (ai + bi), oi = -0.5f * (ar - br);
    const float c = p->twiddle_cos[k], s = p->twiddle_sin[k];
    const float c2 = p->twiddle_cos[m], s2 = p->twiddle_sin[m];
    /* Bin k from (E, O); bin m from (conj E, conj O). */
    const float xr = er + c * orr + s * oi, xi = ei + c * oi - s * orr;
    const float yr = er + c2 * orr - s2 * oi, yi = -ei - c2 * oi - s2 * orr;
    /* Bin k's magnitude goes to z[2k] and bin m's to z[2m]: only this pair reads them. */
    z[2 * k] = sqrtf(xr * xr + xi * xi);
    z[2 * m] = sqrtf(yr * yr + yi * yi);
  }
  z[0] = fabsf(dc); /* bin 0 at z[0]; bin n (Nyquist) at z[2n] = z[fft], the scratch's extra float */
  z[2 * n] = fabsf(nyq);
  {
    /* Bin j's magnitude is z[2j]: the mel bands read every other value. */
    const float *w = p->band_weights;
    for (b = 0; b < p->mel_bins; ++b) {
      float acc = 0.0f;
      const float *mag = z + 2 * p->band_start[b];
      for (k = 0; k < p->band_length[b]; ++k) acc += mag[2 * k] * w[k];
      w += p->band_length[b];
      mel[b] = logf(acc * scale + p->log_offset);
    }
  }
  for (k = 0; k < p->coefficients; ++k) {
    const float *d = p->dct + k * p->mel_bins;
    float acc = 0.0f;
    for (b = 0; b < p->mel_bins; ++b) acc += d[b] * mel[b];
    out[k] = acc;
  }
}

void mp_mfcc_float(const mp_mfcc_params *p, const int8_t *clip, float *features) {
  const float scale = peak_scale(p, clip);
  int32_t t;
  for (t = 0; t < p->frames; ++t) frame_features(p, clip, scale, t, features + t * p->coefficients);
}

void mp_mfcc(const mp_mfcc_params *p, const int8_t *clip, int8_t *output) {
  const float scale = peak_scale(p, clip);
  float *coeffs = p->scratch + p->fft + 1 + p->mel_bins;
  int32_t t, k;
  for (t = 0; t < p->frames; ++t) {
    frame_features(p, clip, scale, t, coeffs);
    for (k = 0; k < p->coefficients; ++k) {
      const float x = (coeffs[k] - p->mean) * p->inv_stddev;
      output[t * p->coefficients + k] = mp_clamp8((int32_t)lroundf(x / p->output_scale) + p->output_zero_point, -128, 127);
    }
  }
}
