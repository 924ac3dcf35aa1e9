#!/usr/bin/python3
"""An independent MFCC reference for the tests, in numpy (float64), with the constants of
MLPerf Tiny's KWS front end: the clip divided by its largest sample (left as it is when that
is <= 0), 480-sample frames every 320 samples with a periodic Hann window, a 512-point real
FFT, magnitudes, 40 triangular mel bands (HTK mel, 20-4000 Hz, DC bin zeroed), log(x + 1e-6),
an orthonormally scaled DCT-II, the first 10 coefficients.

usage: mfcc_reference.py CLIP_F32 OUT_F64   (16000 float32 samples in; 49 x 10 float64 out)
"""
import sys
import numpy as np

RATE, WINDOW, STRIDE, FFT, MELS, LO, HI, COEFFS, OFFSET = 16000, 480, 320, 512, 40, 20.0, 4000.0, 10, 1e-6

def mel(f):
    return 1127.0 * np.log1p(f / 700.0)

def mel_matrix():
    bins = FFT // 2 + 1
    freqs = np.linspace(0.0, RATE / 2.0, bins)[1:]
    m = mel(freqs)[:, None]
    edges = np.linspace(mel(LO), mel(HI), MELS + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    w = np.maximum(0.0, np.minimum((m - lower) / (center - lower), (upper - m) / (upper - center)))
    return np.vstack([np.zeros((1, MELS)), w])

def mfcc(clip):
    clip = clip.astype(np.float64)
    peak = clip.max()
    if peak > 0:
        clip = clip / peak
    n = np.arange(WINDOW)
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * n / WINDOW)
    frames = 1 + (len(clip) - WINDOW) // STRIDE
    spec = np.stack([np.abs(np.fft.rfft(clip[t * STRIDE:t * STRIDE + WINDOW] * hann, FFT)) for t in range(frames)])
    logmel = np.log(spec @ mel_matrix() + OFFSET)
    k = np.arange(COEFFS)[:, None]
    j = np.arange(MELS)[None, :]
    dct = np.sqrt(2.0 / MELS) * np.cos(np.pi * k * (2 * j + 1) / (2.0 * MELS))
    return logmel @ dct.T

if __name__ == "__main__":
    clip = np.fromfile(sys.argv[1], dtype=np.float32)
    mfcc(clip).astype(np.float64).tofile(sys.argv[2])
