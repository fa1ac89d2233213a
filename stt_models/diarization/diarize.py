"""Who spoke when: voice activity, 1.5 s windows, CAM++ embeddings, clustering, speaker turns.

The recipe of 3D-Speaker's and senko's CPU pipelines, on parts this project already carries:
faster-whisper's Silero VAD (ONNX) finds speech, overlapping windows inside it are embedded, the
embeddings are clustered, and each 10 ms frame of speech goes to the window centred nearest to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .cluster import cluster
from .fbank import RATE

WINDOW = 1.5
SHIFT = 0.6
MIN_TURN = 0.3  # shorter flickers inside another speaker's turn are absorbed


@dataclass(frozen=True)
class Turn:
    start: float
    end: float
    speaker: int


@dataclass
class Diarization:
    turns: list[Turn]
    voices: dict[int, list[float]] = field(default_factory=dict)  # speaker -> mean unit embedding
    speech_seconds: dict[int, float] = field(default_factory=dict)

    @property
    def speakers(self) -> int:
        return len(self.voices)


# Seconds the VAD reads at once. Its buffers (copies of the samples, and ONNX Runtime's for up to
# 10,000 windows a call) grew with what it read: over a 60 min recording's 16-bit samples (110 MB)
# the peak was 327 MB more with 600 s pieces, 91 MB with 150 s (the same 470 regions), 54 MB with
# 60 s (455: the model's state starts afresh at each cut).
VAD_PIECE = 150.0
JOIN = 0.5  # a region that ends this close to a piece's end and one that starts as close after are one


def _float32(samples: np.ndarray) -> np.ndarray:
    return samples.astype(np.float32) / 32768.0 if samples.dtype == np.int16 else samples


def speech_regions(samples: np.ndarray) -> list[tuple[float, float]]:
    """Where there is speech (seconds), by Silero VAD over pieces of VAD_PIECE seconds."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    opts = VadOptions(threshold=0.5, min_speech_duration_ms=250, min_silence_duration_ms=300, speech_pad_ms=60)
    piece = int(VAD_PIECE * RATE)
    regions: list[tuple[float, float]] = []
    for offset in range(0, len(samples), piece):
        at = offset / RATE
        for n, t in enumerate(get_speech_timestamps(_float32(samples[offset : offset + piece]), opts)):
            start, end = at + t["start"] / RATE, at + t["end"] / RATE
            if n == 0 and regions and regions[-1][1] >= at - JOIN and start <= at + JOIN:
                start = regions.pop()[0]  # speech that goes on across the cut
            regions.append((start, end))
    return regions


def windows_in(regions: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for start, end in regions:
        if end - start <= WINDOW:
            out.append((start, end))
            continue
        t = start
        while t + WINDOW < end:
            out.append((t, t + WINDOW))
            t += SHIFT
        out.append((max(start, end - WINDOW), end))
    return out


def _turns(regions: list[tuple[float, float]], spans: list[tuple[float, float]], labels: np.ndarray) -> list[Turn]:
    centres = np.array([(a + b) / 2 for a, b in spans])
    pieces: list[Turn] = []
    for start, end in regions:
        inside = [i for i, (a, b) in enumerate(spans) if a >= start - 1e-6 and b <= end + 1e-6]
        if not inside:
            continue
        times = np.arange(start, end, 0.01) + 0.005
        nearest = np.array(inside)[np.abs(times[:, None] - centres[inside][None, :]).argmin(axis=1)]
        frame_labels = labels[nearest]
        edges = np.flatnonzero(np.diff(frame_labels)) + 1
        bounds = [0, *edges.tolist(), len(times)]
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            pieces.append(Turn(round(start + a * 0.01, 3), round(min(end, start + b * 0.01), 3), int(frame_labels[a])))
    return _smooth(pieces)


def _touching(first: Turn, second: Turn) -> bool:
    return abs(first.end - second.start) < 1e-3


def _smooth(pieces: list[Turn]) -> list[Turn]:
    """Absorb flickers shorter than MIN_TURN into the turn they touch (the one before first), then
    join same-speaker turns less than half a second apart."""
    out: list[Turn] = []
    for i, turn in enumerate(pieces):
        if turn.end - turn.start < MIN_TURN:
            before = out[-1] if out and _touching(out[-1], turn) else None
            after = pieces[i + 1] if i + 1 < len(pieces) and _touching(turn, pieces[i + 1]) else None
            host = before or after
            if host is not None:
                turn = Turn(turn.start, turn.end, host.speaker)
        if out and out[-1].speaker == turn.speaker and turn.start - out[-1].end < 0.5:
            out[-1] = Turn(out[-1].start, turn.end, turn.speaker)
        else:
            out.append(turn)
    return out


def diarize(
    samples: np.ndarray,
    *,
    num_speakers: int | None = None,
    min_speakers: int = 1,
    max_speakers: int = 8,
    on_progress: Callable[[float], None] | None = None,
) -> Diarization:
    """Speaker turns of 16 kHz mono samples (float32, or int16 at half the memory); speakers
    numbered 0, 1, ... by first voice.
    ``on_progress`` gets the fraction of the voice windows embedded so far (it may raise to stop)."""
    from . import voices  # noqa: PLC0415 - voices imports torch: loaded only when a recording is diarized

    regions = speech_regions(samples)
    spans = windows_in(regions)
    if not spans:
        return Diarization(turns=[])
    cut = [samples[int(a * RATE) : int(b * RATE)] for a, b in spans]
    emb = voices.embed(cut, on_progress=on_progress)
    labels = cluster(emb, num=num_speakers, low=min_speakers, high=max_speakers)
    turns = _turns(regions, spans, labels)
    result = Diarization(turns=turns)
    for k in sorted(set(labels.tolist())):
        mean = emb[labels == k].mean(axis=0)
        result.voices[k] = (mean / max(float(np.linalg.norm(mean)), 1e-9)).round(5).tolist()
    for turn in turns:
        result.speech_seconds[turn.speaker] = round(
            result.speech_seconds.get(turn.speaker, 0.0) + turn.end - turn.start, 2
        )
    result.voices = {k: v for k, v in result.voices.items() if k in result.speech_seconds}
    return result
