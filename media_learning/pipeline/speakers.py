"""Who said it: run speaker diarization on a document's audio and label its transcript.

``wanted`` decides from the mode (the upload's ``diarize`` option, else its knowledge base's:
auto, on, off) and the duration (auto: recordings over DIARIZE_MIN_SECONDS);
``diarize_document`` finds the speaker turns and the voices, stored on ``Document.speakers`` as
``{"turns": [[start, end, label]...], "voices": {label: {...}}}``;
``label_segments`` gives each transcript segment the speaker who talks most within it (cutting a
segment at a change of speaker where word timestamps allow), for paragraphs and exports alike.
Labels are ``SPEAKER_1``, ``SPEAKER_2``... in order of first voice; a recording found to hold one
voice gets no labels under ``auto``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from django.conf import settings

from media_learning.pipeline.split import join_text
from stt_models.providers.base import Segment

log = logging.getLogger(__name__)


def label(index: int) -> str:
    return f"SPEAKER_{index + 1}"


def mode_of(options: dict[str, Any], default: str = "auto") -> str:
    """The upload's ``diarize`` option, else its knowledge base's setting."""
    return options.get("diarize") or default or "auto"


def wanted(mode: str, duration: float | None) -> bool:
    if mode == "off" or not settings.DIARIZATION_ENABLED:
        return False
    return mode == "on" or (duration or 0.0) > settings.DIARIZE_MIN_SECONDS


def diarize_document(samples: np.ndarray, options: dict[str, Any], mode: str = "auto",
                     on_progress: Callable[[float], None] | None = None) -> dict[str, Any]:  # fmt: skip
    """The ``Document.speakers`` value for 16 kHz mono samples (empty when one voice under auto);
    ``on_progress`` gets the fraction done (and may raise to stop)."""
    from stt_models.diarization.diarize import diarize  # noqa: PLC0415 - voices imports torch: loaded only when a recording is diarized

    found = diarize(
        samples,
        on_progress=on_progress,
        num_speakers=options.get("num_speakers"),
        min_speakers=options.get("min_speakers", 1),
        max_speakers=options.get("max_speakers", settings.DIARIZE_MAX_SPEAKERS),
    )
    if found.speakers < 2 and mode != "on":
        return {}
    return {
        "turns": [[t.start, t.end, label(t.speaker)] for t in found.turns],
        "voices": {
            label(k): {"seconds": found.speech_seconds.get(k, 0.0), "embedding": v} for k, v in found.voices.items()
        },
    }


def _overlaps(turns: Sequence[Sequence[Any]], start: float, end: float) -> dict[str, float]:
    talk: dict[str, float] = {}
    for t_start, t_end, who in turns:
        shared = min(end, t_end) - max(start, t_start)
        if shared > 0:
            talk[who] = talk.get(who, 0.0) + shared
    return talk


def speaker_at(turns: Sequence[Sequence[Any]], start: float, end: float) -> str:
    """Who talks most between ``start`` and ``end`` (the nearest turn's speaker if nobody does)."""
    talk = _overlaps(turns, start, end)
    if talk:
        return max(talk, key=talk.__getitem__)
    if not turns:
        return ""
    middle = (start + end) / 2
    return min(turns, key=lambda t: min(abs(t[0] - middle), abs(t[1] - middle)))[2]


def _cut_by_words(segment: Segment, turns: Sequence[Sequence[Any]]) -> list[Segment]:
    pieces: list[Segment] = []
    for word in segment.words or []:
        who = speaker_at(turns, word.start, word.end)
        if pieces and pieces[-1].speaker == who:
            last = pieces[-1]
            last.text = join_text(last.text, word.word.strip()) if last.text else word.word.strip()
            last.end = max(last.end, word.end)
            last.words.append(word)
        else:
            pieces.append(Segment(start=word.start, end=word.end, text=word.word.strip(), words=[word], speaker=who,
                                  no_speech_prob=segment.no_speech_prob, avg_logprob=segment.avg_logprob))  # fmt: skip
    return pieces


def label_segments(segments: Sequence[Segment], speakers: dict[str, Any] | None) -> list[Segment]:
    """The segments with ``speaker`` set from the document's turns (unchanged without any)."""
    turns = (speakers or {}).get("turns") or []
    if not turns:
        return list(segments)
    out: list[Segment] = []
    for seg in segments:
        talk = _overlaps(turns, seg.start, seg.end)
        if seg.words and len(talk) > 1:
            cut = _cut_by_words(seg, turns)
            if cut and len({p.speaker for p in cut}) > 1:
                out.extend(cut)
                continue
        out.append(replace(seg, speaker=speaker_at(turns, seg.start, seg.end)))
    return out


def display_names(speakers: dict[str, Any] | None) -> dict[str, str]:
    """label -> the name a person gave it (or the label)."""
    voices = (speakers or {}).get("voices") or {}
    return {k: (v.get("name") or k) for k, v in voices.items()}


def named_segments(segments: Sequence[Segment], speakers: dict[str, Any] | None) -> list[Segment]:
    """``label_segments`` with each label replaced by the name a person gave it."""
    names = display_names(speakers)
    out = label_segments(segments, speakers)
    for seg in out:
        seg.speaker = names.get(seg.speaker, seg.speaker)
    return out
