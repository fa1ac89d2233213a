"""Kaldi-compatible log-mel filterbank features (80 bins, 25 ms / 10 ms), what CAM++ was trained on.

The same options as Kaldi's ``compute-fbank-feats`` with dither 0: DC offset removed, pre-emphasis
0.97, the Povey window, a 512-point FFT, power spectrum, mel banks from 20 Hz to Nyquist, natural
log. Written in numpy so that no feature library (torchaudio, kaldifeat) is needed; the features are
mean-normalised per window, as 3D-Speaker does, so the input scale does not matter.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

RATE = 16000
FRAME = 400  # 25 ms
SHIFT = 160  # 10 ms
FFT = 512
BINS = 80


@lru_cache(maxsize=1)
def _mel_banks() -> np.ndarray:
    def mel(f: np.ndarray | float) -> np.ndarray:
        return 1127.0 * np.log(1.0 + np.asarray(f) / 700.0)

    low, high = mel(20.0), mel(RATE / 2)
    centres = np.linspace(low, high, BINS + 2)
    freqs = mel(np.arange(FFT // 2) * RATE / FFT)  # Kaldi leaves out the Nyquist bin
    banks = np.zeros((BINS, FFT // 2 + 1), dtype=np.float32)
    for b in range(BINS):
        left, centre, right = centres[b], centres[b + 1], centres[b + 2]
        up = (freqs - left) / (centre - left)
        down = (right - freqs) / (right - centre)
        banks[b, : FFT // 2] = np.maximum(0.0, np.minimum(up, down))
    return banks


@lru_cache(maxsize=1)
def _window() -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FRAME) / (FRAME - 1))) ** 0.85


def fbank(samples: np.ndarray) -> np.ndarray:
    """``(frames, 80)`` float32 log-mel features of 16 kHz mono samples (float in [-1, 1), or
    int16), mean-normalised over time."""
    if samples.dtype == np.int16:  # Kaldi works on 16-bit sample values
        samples = samples.astype(np.float32)
    else:
        samples = np.asarray(samples, dtype=np.float32) * 32768.0
    if len(samples) < FRAME:
        samples = np.pad(samples, (0, FRAME - len(samples)))
    count = 1 + (len(samples) - FRAME) // SHIFT
    frames = np.lib.stride_tricks.sliding_window_view(samples, FRAME)[::SHIFT][:count].astype(np.float64)
    frames = frames - frames.mean(axis=1, keepdims=True)
    frames = np.concatenate([frames[:, :1] * (1 - 0.97), frames[:, 1:] - 0.97 * frames[:, :-1]], axis=1)
    frames *= _window()
    power = np.abs(np.fft.rfft(frames, n=FFT)) ** 2
    feats = np.log(np.maximum(power.astype(np.float32) @ _mel_banks().T, np.finfo(np.float32).eps))
    return (feats - feats.mean(axis=0, keepdims=True)).astype(np.float32)
