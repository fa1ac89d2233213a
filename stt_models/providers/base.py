"""The interface every speech-to-text provider implements."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np

from core.errors import RetryableError, UserError

# A sentence ends in . ! ? (or the CJK forms, or …), maybe followed by closing quotes or brackets.
SENTENCE_END = re.compile(r"[.!?。！？…][\"'”’)）」』]*$")


@dataclass
class Word:
    start: float
    end: float
    word: str
    probability: float | None = None


@dataclass
class Segment:
    start: float
    end: float
    text: str
    words: list[Word] | None = None
    # How sure the model was (faster-whisper gives both; None where a provider does not): the
    # chance that the window held no speech, and the mean log-probability of its tokens.
    no_speech_prob: float | None = None
    avg_logprob: float | None = None
    speaker: str = ""  # a diarization label (SPEAKER_1...) once speakers are assigned

    def to_dict(self) -> dict[str, Any]:
        """Its JSON form, as a transcript chunk stores it (the speaker is added later, not stored)."""
        data = asdict(self)
        del data["speaker"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Segment:
        words = data.get("words")
        return cls(start=data["start"], end=data["end"], text=data["text"],
                   words=[Word(**w) for w in words] if words is not None else None,
                   no_speech_prob=data.get("no_speech_prob"), avg_logprob=data.get("avg_logprob"))  # fmt: skip


@dataclass
class Transcript:
    language: str
    duration: float
    segments: list[Segment] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class SttError(Exception):
    """Speech-to-text failed; ``str(exc)`` is a one-line reason for the user."""


class SttRefused(SttError, UserError):
    """Permanent: the model or the request cannot work as configured (no retry)."""

    code = "speech_model_failed"


class SttUnavailable(SttError, RetryableError):
    """A remote speech service is unreachable or overloaded for now: worth retrying."""

    code = "speech_service_unavailable"


# Called with each finished segment, in order; may raise to stop transcription early.
SegmentCallback = Callable[[Segment], None]


class SpeechProvider(Protocol):
    def transcribe(
        self, audio: np.ndarray, options: dict[str, Any], on_segment: SegmentCallback | None = None
    ) -> Transcript:
        """Transcribe 16 kHz mono float32 ``audio``; timestamps are seconds from its start."""
        ...
