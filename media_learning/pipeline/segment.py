"""Cut a stream of 16 kHz audio into segments of about ``segment_duration`` seconds, each cut
placed in the quietest moment within ``search`` seconds of the target (between words, not
inside one). Only one segment plus the search window is ever held in memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from media_learning.pipeline.decode import SAMPLE_RATE
from stt_models.options import DEFAULT_SEGMENT_DURATION

FRAME = SAMPLE_RATE // 50  # 20 ms energy frames
SMOOTH = 15  # frames: a quiet run must last about 300 ms to count


@dataclass
class AudioSegment:
    index: int
    start: float  # seconds from the start of the media
    audio: np.ndarray

    @property
    def end(self) -> float:
        return self.start + len(self.audio) / SAMPLE_RATE


def segment_length(options: dict[str, Any], duration: float | None) -> float:
    """Seconds per segment: ``segment_duration`` as the user gave it, or by default about
    DEFAULT_SEGMENT_DURATION evened out over the media, so that its segments are of one length
    and workers share them evenly: 6.2 min is two segments of 3.1 min (not 5 min and 1.2 min),
    which two workers (or two threads of the worker of ``serve``) transcribe side by side."""
    if "segment_duration" in options:
        return float(options["segment_duration"])
    if not duration or duration <= DEFAULT_SEGMENT_DURATION:
        return DEFAULT_SEGMENT_DURATION
    return duration / math.ceil(duration / DEFAULT_SEGMENT_DURATION)


def quietest_point(audio: np.ndarray) -> int:
    """The sample index at the centre of the quietest ~300 ms run, preferring the middle of
    ``audio`` among runs that are about as quiet as the quietest."""
    frames = len(audio) // FRAME
    if frames <= SMOOTH:
        return len(audio) // 2
    energy = (audio[: frames * FRAME].astype(np.float64).reshape(frames, FRAME) ** 2).mean(axis=1)
    smooth = np.convolve(energy, np.ones(SMOOTH) / SMOOTH, mode="valid")
    floor = float(smooth.min())
    candidates = np.flatnonzero(smooth <= floor * 2 + 1e-10)
    centre = len(smooth) / 2
    best = int(candidates[np.argmin(np.abs(candidates - centre))])
    return (best + SMOOTH // 2) * FRAME + FRAME // 2


def iter_segments(
    chunks: Iterable[np.ndarray], segment_duration: float, search: float = 15.0
) -> Iterator[AudioSegment]:
    """Yield consecutive segments that together cover the stream exactly, in order."""
    target = int(segment_duration * SAMPLE_RATE)
    window = int(min(search, segment_duration / 3) * SAMPLE_RATE)
    pending: list[np.ndarray] = []
    pending_len = 0
    offset = 0  # samples already yielded
    index = 0
    for chunk in chunks:
        pending.append(chunk)
        pending_len += len(chunk)
        while pending_len >= target + window:
            buffer = np.concatenate(pending)
            lo = target - window
            cut = lo + quietest_point(buffer[lo : target + window])
            yield AudioSegment(index=index, start=offset / SAMPLE_RATE, audio=buffer[:cut])
            index += 1
            offset += cut
            rest = buffer[cut:]
            pending, pending_len = [rest], len(rest)
    if pending_len:
        yield AudioSegment(index=index, start=offset / SAMPLE_RATE, audio=np.concatenate(pending))
