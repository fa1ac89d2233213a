"""Mono float samples (-1..1) into a PyAV output stream, as 16-bit frames of the encoder's own
size: how the OpenAI provider writes FLAC and how the tests write their MP3 fixtures."""

from __future__ import annotations

from typing import Any

import av
import numpy as np


def encode(out: Any, stream: Any, samples: np.ndarray, rate: int) -> None:
    """Encode ``samples`` (at ``rate`` Hz) into ``stream`` of the container ``out``; call
    ``flush`` once after the last of them."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16)
    size = stream.codec_context.frame_size or 4096
    for i in range(0, len(pcm), size):
        frame = av.AudioFrame.from_ndarray(pcm[None, i : i + size].copy(), format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)


def flush(out: Any, stream: Any) -> None:
    """What the encoder still holds, into the container."""
    for packet in stream.encode(None):
        out.mux(packet)
