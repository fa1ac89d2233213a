"""Transcript export: plain text, SubRip (SRT), WebVTT and JSON; with the speaker where the
document was diarized (``NAME: text`` in text and SRT, a ``<v NAME>`` voice tag in WebVTT)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Any

import srt

from media_learning.pipeline.transcribe import MediaTranscript
from stt_models.providers.base import Segment

FORMATS = {
    "json": "application/json",
    "txt": "text/plain; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
}


def _time(seconds: float) -> timedelta:
    return timedelta(milliseconds=round(max(0.0, seconds) * 1000))


def _vtt_clock(seconds: float) -> str:
    """WebVTT's clock is SubRip's with a full stop before the milliseconds."""
    return srt.timedelta_to_srt_timestamp(_time(seconds)).replace(",", ".")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _said(segment: Segment) -> str:
    text = _one_line(segment.text)
    return f"{_one_line(segment.speaker)}: {text}" if segment.speaker else text


def to_txt(transcript: MediaTranscript) -> str:
    return "".join(_said(s) + "\n" for s in transcript.segments)


def to_srt(transcript: MediaTranscript) -> str:
    """SubRip, written by the ``srt`` library (cues numbered from 1, in the transcript's order)."""
    cues = [srt.Subtitle(n, _time(s.start), _time(s.end), _said(s)) for n, s in enumerate(transcript.segments, 1)]
    return srt.compose(cues, reindex=False)


def _vtt_text(text: str) -> str:
    return _one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _vtt_cue(segment: Segment) -> str:
    text = _vtt_text(segment.text)
    return f"<v {_vtt_text(segment.speaker)}>{text}" if segment.speaker else text


def to_vtt(transcript: MediaTranscript) -> str:
    cues = [f"{_vtt_clock(s.start)} --> {_vtt_clock(s.end)}\n{_vtt_cue(s)}\n" for s in transcript.segments]
    return "WEBVTT\n\n" + "\n".join(cues)


def to_json(transcript: MediaTranscript, words: bool = False) -> dict[str, Any]:
    segments = []
    for seg in transcript.segments:
        item = {"start": seg.start, "end": seg.end, "text": seg.text}
        if seg.speaker:
            item["speaker"] = seg.speaker
        if words:
            item["words"] = [asdict(w) for w in seg.words] if seg.words is not None else None
        segments.append(item)
    return {"language": transcript.language, "duration": transcript.duration, "segments": segments}
