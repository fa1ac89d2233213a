"""Transcription step: stream the media, cut it at silences, transcribe segment by segment and
save each result as it finishes. A retry (or a reprocess with the same model and options)
skips the segments already saved and resumes at the first unfinished one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings

from knowledge.models import Document, Status
from media_learning.models import TranscriptChunk
from media_learning.pipeline import decode, fanout
from media_learning.pipeline.segment import iter_segments, segment_length
from stt_models.models import SpeechModel
from stt_models.options import DIARIZATION_OPTION_NAMES, PIPELINE_OPTION_NAMES
from stt_models.providers.base import Segment, Transcript
from stt_models.registry import get_provider

log = logging.getLogger(__name__)

# Called with the number of media seconds transcribed so far; may raise to stop.
ProgressCallback = Callable[[float], None]


@dataclass
class MediaTranscript:
    language: str
    duration: float
    segments: list[Segment]


def fingerprint(model: SpeechModel, options: dict[str, Any]) -> str:
    """What the stored transcript was made with: the model and the transcription options (not the
    speakers', nor the LLM's, which are stored apart: a new summary prompt or speaker count reuses
    the same transcript)."""
    transcription = {k: v for k, v in options.items() if k not in DIARIZATION_OPTION_NAMES}
    settings = {
        "model": [model.pk, model.provider, model.model, model.device, model.compute_type, model.options],
        "options": transcription,
    }
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


def _shift(transcript: Transcript, start: float, end: float) -> list[Segment]:
    """The segments (and words) moved onto the media's timeline, inside [start, end]."""

    def at(t: float) -> float:
        return round(min(end, max(start, start + t)), 3)

    def moved(seg: Segment) -> Segment:
        words = None if seg.words is None else [replace(w, start=at(w.start), end=at(w.end)) for w in seg.words]
        return replace(seg, start=at(seg.start), end=at(seg.end), words=words)

    return [moved(seg) for seg in transcript.segments]


def load_transcript(document: Document) -> MediaTranscript:
    """The saved chunks merged in order, with monotonic timestamps."""
    chunks = list(TranscriptChunk.objects.filter(document=document).order_by("index"))
    segments: list[Segment] = []
    spoken: Counter[str] = Counter()
    last_end = 0.0
    for chunk in chunks:
        for raw in chunk.segments:
            segment = Segment.from_dict(raw)
            start = max(segment.start, last_end)
            end = max(segment.end, start)
            segments.append(replace(segment, start=start, end=end))
            spoken[chunk.language] += end - start
            last_end = end
    language = spoken.most_common(1)[0][0] if spoken else (chunks[0].language if chunks else "")
    duration = chunks[-1].end if chunks else 0.0
    return MediaTranscript(language=language, duration=duration, segments=segments)


def transcription_options(options: dict[str, Any], language: str) -> dict[str, Any]:
    """The document's options with the language given or detected before transcription (so that
    every segment is transcribed as that language)."""
    return {**options, "language": language} if language and not options.get("language") else dict(options)


def _provider_options(options: dict[str, Any]) -> dict[str, Any]:
    """What the speech model is given: the options less the pipeline's (segment_duration, speakers)."""
    return {k: v for k, v in options.items() if k not in PIPELINE_OPTION_NAMES}


def segment_transcriber(document: Document, model: SpeechModel | None = None) -> Callable[..., dict[str, Any]]:
    """``transcribe(job, audio) -> {language, segments}`` for a fanned-out segment (fanout.py),
    with the model and language the coordinator chose (``stt_model_used``, ``detected_language``)."""
    provider = get_provider(model or document.stt_model_used or document.stt_model)
    options = _provider_options(transcription_options(document.options, document.detected_language))

    def transcribe(job: Any, audio: Any) -> dict[str, Any]:
        transcript = provider.transcribe(audio, options)
        return {
            "language": transcript.language,
            "segments": [s.to_dict() for s in _shift(transcript, job.start, job.end)],
        }

    return transcribe


def transcribe_media(
    document: Document,
    path: str | os.PathLike[str],
    info: decode.MediaInfo,
    model: SpeechModel,
    options: dict[str, Any],
    on_progress: ProgressCallback | None = None,
    fan: fanout.Fanout | None = None,
) -> MediaTranscript:
    """Transcribe segment by segment here, or with ``fan`` stage every unfinished segment for
    all workers and help with them (fanout.py)."""
    key = fingerprint(model, options)
    TranscriptChunk.objects.filter(document=document).exclude(fingerprint=key).delete()
    done = {c.index: c for c in TranscriptChunk.objects.filter(document=document)}
    provider = get_provider(model)
    whisper_options = _provider_options(options)
    segment_duration = segment_length(options, info.duration)
    report = on_progress or (lambda seconds: None)

    helper = segment_transcriber(document, model) if fan is not None else None
    decoded, last_index = 0.0, -1
    chunks = decode.iter_audio(path, max_seconds=settings.MAX_MEDIA_DURATION)
    for piece in iter_segments(chunks, segment_duration):
        decoded, last_index = piece.end, piece.index
        saved = done.get(piece.index)
        if saved is not None and abs(saved.start - piece.start) < 1e-3 and abs(saved.end - piece.end) < 1e-3:
            if fan is None:
                report(piece.end)
            continue
        if fan is not None:
            fan.stage(piece, key, helper, report)
            continue
        offset = piece.start
        transcript = provider.transcribe(
            piece.audio, whisper_options, on_segment=lambda seg, offset=offset: report(offset + seg.end)
        )
        TranscriptChunk.objects.update_or_create(
            document=document,
            index=piece.index,
            defaults={
                "start": round(piece.start, 3),
                "end": round(piece.end, 3),
                "language": transcript.language,
                "segments": [s.to_dict() for s in _shift(transcript, piece.start, piece.end)],
                "fingerprint": key,
            },
        )
        report(piece.end)
    decode.check_complete(info, decoded)
    TranscriptChunk.objects.filter(document=document, index__gt=last_index).delete()
    if fan is not None:
        fan.work_through(helper, report)
    return load_transcript(document)


def transcribe_job(document_id: int, task_id: str, job_id: int, worker: str) -> str:
    """A ``transcribe_segment`` task: help with one segment of a document still being processed."""
    document = Document.objects.filter(pk=document_id, status=Status.STARTED, task_id=task_id).first()
    if document is None:
        return "skipped: the document is no longer being processed by that task"
    job = fanout.claim(job_id, worker)
    if job is None:
        return "skipped: already taken"
    try:
        fanout.run_job(job, worker, segment_transcriber(document))
    except Exception as exc:  # noqa: BLE001 - the coordinator retries the segment and reports the error
        log.warning("segment %s of document %s failed here: %s", job.index, document_id, exc)
        return "released"
    return "done"
