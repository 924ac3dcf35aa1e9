/* MFCC: the keyword-spotting front end on the device, raw audio in, int8 features out. It
 * computes what the host computes (src/data/mfcc.h, MLPerf Tiny's KWS front end) in single
 * precision, for a Cortex-M4F's FPU: the clip divided by its largest sample, frames of
 * `window` samples every `stride` with the window function, a real FFT of `fft` points (a
 * radix-2 complex FFT of fft/2 points and the split into the real spectrum), magnitudes,
 * triangular mel bands (stored sparsely: each band's first bin, length and weights), log of
 * mel + log_offset, the DCT table, then the model's input normalisation and int8
 * quantisation. Every table is exported by mcuprune into flash; the scratch buffer (fft +
 * 1 + mel_bins + coefficients floats) is a static buffer of the exported model. */
#ifndef MP_MFCC_H
#define MP_MFCC_H

#include <stdint.h>

typedef struct {
  int32_t clip_samples, window, stride, fft, frames, mel_bins, coefficients;
  const float *window_fn;            /* window values */
  const float *twiddle_cos, *twiddle_sin; /* fft/2 values each: cos, sin(2 pi k / fft) */
  const int16_t *band_start, *band_length; /* mel_bins each: first spectrum bin, bin count */
  const float *band_weights;         /* the bands' weights, one after the other */
  const float *dct;                  /* coefficients x mel_bins */
  float log_offset;
  float mean, inv_stddev;            /* feature normalisation: (x - mean) * inv_stddev */
  float output_scale;                /* int8 features: q = round(x / scale) + zero point */
  int32_t output_zero_point;
  float *scratch;                    /* fft + 1 + mel_bins + coefficients floats */
} mp_mfcc_params;

/* clip: clip_samples int16 values stored as bytes (little-endian, any alignment).
 * output: frames x coefficients int8 values. */
void mp_mfcc(const mp_mfcc_params *p, const int8_t *clip, int8_t *output);

/* The float features before normalisation (frames x coefficients), for tests and tools. */
void mp_mfcc_float(const mp_mfcc_params *p, const int8_t *clip, float *features);

#endif
