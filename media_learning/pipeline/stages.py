"""The bodies of the pipeline's stages: transcribe (with the fetch of a ``file_url``, the choice of
model, or the reuse of a twin's transcript), diarize, cut into paragraphs, polish, index. Each
takes the document and the payload so far and returns the next payload; the runner
(runner.py) claims, routes, hands off and maps errors around them.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import DatabaseError, transaction

from knowledge import ingest, platform_media, runs, transitions, voices
from knowledge.chinese_script import to_script
from knowledge.models import Document, ProcessingRun, RunOutcome, Stage
from llm_models.models import LanguageModel
from llm_models.probes import record_problem
from llm_models.providers.base import LlmError, LlmUnavailable
from llm_models.registry import get_client
from media_learning.pipeline import clean, decode, fanout, index, polish, reuse, speakers, split
from media_learning.pipeline.heartbeat import Heartbeat, TimeLimitExceeded
from media_learning.pipeline.media_file import local_media
from media_learning.pipeline.payload import StagePayload
from media_learning.pipeline.progress import (
    DIARIZE_SHARE,
    INDEX_START,
    LLM_START,
    REPORT_EVERY,
    ProgressReporter,
    diarize_start,
)
from media_learning.pipeline.segment import segment_length
from media_learning.pipeline.transcribe import MediaTranscript, load_transcript, transcribe_media, transcription_options
from stt_models import routing
from stt_models.models import SpeechModel
from stt_models.providers.openai_api import NO_TIMESTAMPS
from stt_models.registry import resolve_speech_model

log = logging.getLogger(__name__)

NO_SPEECH = "no speech detected"


def _polish(document: Document, task_id: str, model: LanguageModel, drafts: list[split.ParagraphDraft],
            language: str) -> tuple[polish.LlmOutcome, dict]:  # fmt: skip
    """The LLM step, reporting its own progress between LLM_START and INDEX_START."""

    def on_progress(fraction: float) -> None:
        transitions.report(document.pk, task_id, progress=LLM_START + (INDEX_START - LLM_START) * fraction)

    try:
        client = get_client(model)
    except LlmError as exc:
        record_problem(model, exc)
        return polish.LlmOutcome(drafts=drafts, warnings=[f"LLM step incomplete, raw transcript kept: {exc}"]), {}
    options = document.llm_options
    with client:
        outcome = polish.polish_and_summarize(
            client, drafts, language,
            punctuation=options.get("enable_punctuation", True),
            summary=options.get("enable_summary", True),
            summary_prompt=options.get("summary_prompt", ""),
            on_progress=on_progress,
        )  # fmt: skip
    if outcome.error is not None and not isinstance(outcome.error, LlmUnavailable):
        record_problem(model, outcome.error)  # a configuration error: show it on the model too
    return outcome, {"model": model.name, **client.usage.as_dict()}


def _download(document: Document, task_id: str, run: ProcessingRun, heartbeat: Heartbeat) -> None:
    """The fetching stage of a ``file_url`` document: download it here, in the worker, within
    URL_FETCH_TIMEOUT (beside the media's own time limit), noticing a cancel as it goes."""
    if not document.source_url:
        raise decode.MediaError("the original media was deleted (MEDIA_RETENTION_DAYS) and has no source URL")
    transitions.report(document.pk, task_id, stage=Stage.FETCHING)
    heartbeat.allow(settings.URL_FETCH_TIMEOUT)
    last = time.monotonic()

    def on_progress(received: int) -> None:
        nonlocal last
        if time.monotonic() - last >= REPORT_EVERY:
            last = time.monotonic()
            transitions.report(document.pk, task_id)  # raises Cancelled when the user cancelled

    with runs.timed(run, "fetch"):
        download = platform_media.fetch_media(document.source_url, on_progress)
        try:
            ingest.attach_download(document, task_id, download)
        finally:
            download.close()  # the temporary file
    transitions.report(document.pk, task_id, stage=Stage.TRANSCRIBING)


def _choose_model(document: Document, task_id: str, run: ProcessingRun, requested: SpeechModel,
                  path: str) -> routing.Choice:  # fmt: skip
    """Which model transcribes (``auto`` detects the language first) and what it found, recorded
    on the document and its run."""
    with runs.timed(run, "detect"):
        choice = routing.choose(requested, document.options.get("language", ""),
                                lambda: decode.head(path, routing.HEAD_SECONDS))  # fmt: skip
    # Only a language the transcription relies on (fanned-out segments are told it too).
    detected = choice.language if choice.detected else ""
    transitions.report(document.pk, task_id, stt_model_used=choice.model, detected_language=detected)
    runs.note_model(run, choice.model)
    document.stt_model_used, document.detected_language = choice.model, detected
    if choice.detected:
        log.info("detected %s (%.0f%%): transcribing with %s", choice.found or "no speech",
                 100 * (choice.probability or 0), choice.model.name)  # fmt: skip
    return choice


def transcribe_stage(document: Document, task_id: str, run: ProcessingRun,
                      heartbeat: Heartbeat) -> tuple[MediaTranscript, StagePayload]:  # fmt: skip
    """Decode and transcribe (fanning long media out), or reuse a finished twin's transcript: the
    transcript and the payload the next stage starts from (``diarize``: speakers still to find)."""
    doc_id = document.pk
    if not document.file:
        _download(document, task_id, run, heartbeat)
    speech_model = document.stt_model
    if speech_model is None:  # record which model produced the transcript
        speech_model = resolve_speech_model(None)
        transitions.report(doc_id, task_id, stt_model=speech_model)
    llm = document.llm_model
    donor = reuse.find_donor(document)
    if donor is not None:
        transcript = _reused(document, task_id, run, donor)  # with the donor's speakers
        model_used, warnings, diarize = donor.stt_model_used, [], False
    else:
        transcript, model_used, warnings, diarize = _transcribed(document, task_id, run, heartbeat, speech_model, llm)
    found = {"language": transcript.language, "duration": round(transcript.duration, 3)}
    transitions.report(doc_id, task_id, **found)
    timestamps = model_used is None or model_used.gives_timestamps
    return transcript, StagePayload(run_id=run.pk, language=found["language"], duration=found["duration"],
                                    warnings=tuple(warnings), timestamps=timestamps, diarize=diarize)  # fmt: skip


def paragraphs(document: Document, task_id: str, transcript: MediaTranscript, payload: StagePayload) -> StagePayload:
    """Cut the transcript (labelled with its speakers) into paragraphs: the payload's ``drafts``."""
    segments, removed = clean.drop_invented(transcript.segments)
    segments = speakers.label_segments(segments, document.speakers)
    warnings = [*payload.warnings, *removed] if segments else [*removed, NO_SPEECH]
    if segments and not payload.timestamps:
        warnings.append(NO_TIMESTAMPS)
    drafts = split.build_paragraphs(
        segments,
        max_chars=settings.PARAGRAPH_MAX_CHARS,
        min_chars=settings.PARAGRAPH_MIN_CHARS,
        pause=settings.PARAGRAPH_PAUSE_SECONDS,
        max_seconds=settings.PARAGRAPH_MAX_SECONDS,
    )
    drafts = clean.in_script(drafts, document.knowledge_base.script)
    transitions.report(document.pk, task_id, warnings=warnings)
    return payload.but(drafts=drafts, warnings=warnings, diarize=False)


def _reused(document: Document, task_id: str, run: ProcessingRun, donor: Document) -> MediaTranscript:
    """The donor's transcript as this document's (reuse.py): no decoding, no speech model."""
    with runs.timed(run, "reuse"):
        reuse.copy_transcript(donor, document)
        found = voices.match(document.knowledge_base, _unnamed(donor.speakers))  # this KB's names, not the donor's
        transitions.report(document.pk, task_id, reused_from=donor, mime=donor.mime, duration=donor.duration,
                      stt_model_used=donor.stt_model_used, detected_language=donor.detected_language,
                      speakers=found)  # fmt: skip
        runs.note_model(run, donor.stt_model_used)
        document.reused_from, document.speakers = donor, found
        log.info("same media, model and options as document %s: its transcript is reused", donor.pk)
        return load_transcript(document)


def _transcribed(
    document: Document, task_id: str, run: ProcessingRun, heartbeat: Heartbeat, speech_model: SpeechModel, llm: object
) -> tuple[MediaTranscript, SpeechModel, list[str], bool]:
    """Decode and transcribe (``auto`` chooses the model first): the transcript, the model that
    wrote it, what choosing it warned of and whether its speakers are wanted (the diarize stage)."""
    doc_id = document.pk
    with local_media(document.file) as path:
        with runs.timed(run, "transcribe"):
            info = decode.probe(path)
            transitions.report(doc_id, task_id, mime=info.mime, duration=info.duration)
            if info.duration and info.duration > settings.MAX_MEDIA_DURATION:
                length = decode.human_duration(info.duration)
                limit = decode.human_duration(settings.MAX_MEDIA_DURATION)
                raise decode.MediaError(f"the media is {length} long; the limit is {limit} (MAX_MEDIA_DURATION)")
            heartbeat.set_duration(info.duration)
        choice = _choose_model(document, task_id, run, speech_model, path)  # timed as "detect"
        diarize = speakers.wanted(speakers.mode_of(document.options, document.knowledge_base.diarize), info.duration)
        with runs.timed(run, "transcribe"):
            share = (LLM_START if llm else INDEX_START) - (DIARIZE_SHARE if diarize else 0.0)
            reporter = ProgressReporter(doc_id, task_id, info.duration, share=share)
            fanned = fanout.enabled(info.duration, segment_length(document.options, info.duration))
            fan = fanout.Fanout(document, task_id, run.worker) if fanned else None
            options = transcription_options(document.options, choice.language)
            transcript = transcribe_media(document, path, info, choice.model, options, reporter, fan)
    if not diarize or not transcript.segments:
        transitions.report(doc_id, task_id, speakers={})  # none found before (a re-run) stand no more
        document.speakers = {}
    return transcript, choice.model, list(choice.warnings), diarize and bool(transcript.segments)


def diarize_stage(document: Document, task_id: str, run: ProcessingRun, payload: StagePayload,
                   transcript: MediaTranscript | None = None) -> StagePayload:  # fmt: skip
    """Who spoke when (speakers.py), recorded on the document, then the paragraphs. Speakers are an
    addition to the transcript: when finding them fails, the transcript is kept with a warning (a
    cancel or a lost claim still stops the document)."""
    doc_id = document.pk
    start = diarize_start(document.llm_model_id is not None)
    transitions.report(doc_id, task_id, stage=Stage.DIARIZING, progress=start)
    transcript = transcript or load_transcript(document)
    found: dict = {}
    warnings: list[str] = []
    try:
        with runs.timed(run, "diarize"), local_media(document.file) as path:
            audio = decode.load_pcm16(path, decode.probe(path))  # 16-bit: half the memory of float
            reporter = ProgressReporter(doc_id, task_id, 1.0, share=DIARIZE_SHARE, start=start)
            mode = speakers.mode_of(document.options, document.knowledge_base.diarize)
            found = speakers.diarize_document(audio, document.options, mode, on_progress=reporter)
            del audio
            found = voices.match(document.knowledge_base, found)  # known voices get their names
        log.info("diarized: %d speakers", len(found.get("voices", {})))
    except (transitions.Cancelled, transitions.ClaimLost, TimeLimitExceeded, DatabaseError):
        raise
    except Exception as exc:  # the transcript stands without speakers
        log.exception("diarization failed; the transcript is kept without speakers")
        warnings.append(f"speakers not found: {transitions.one_line(f'{type(exc).__name__}: {exc}')}")
    transitions.report(doc_id, task_id, speakers=found)
    document.speakers = found
    return paragraphs(document, task_id, transcript, payload.but(warnings=[*payload.warnings, *warnings]))


def _unnamed(found: dict) -> dict:
    """A donor's speakers without the names its owner gave them (those are theirs, not the media's)."""
    mine = ("name", "voice", "match")
    kept = {k: {n: v for n, v in one.items() if n not in mine} for k, one in (found or {}).get("voices", {}).items()}
    return {**found, "voices": kept} if found else {}


def polish_stage(document: Document, task_id: str, run: ProcessingRun, payload: StagePayload) -> StagePayload:
    """Polish the paragraphs and write the summary with the document's LLM."""
    doc_id, drafts = document.pk, list(payload.drafts)
    transitions.report(doc_id, task_id, stage=Stage.POLISHING, progress=LLM_START)
    with runs.timed(run, "polish"):
        outcome, usage = _polish(document, task_id, document.llm_model, drafts, payload.language)
    drafts, summary, warnings = outcome.drafts, outcome.summary, [*payload.warnings, *outcome.warnings]
    script = document.knowledge_base.script
    drafts, summary = clean.in_script(drafts, script), to_script(summary, script)
    if summary:
        end = drafts[-1].end if drafts else payload.duration
        drafts += polish.summary_drafts(summary, 0.0, end, settings.PARAGRAPH_MAX_CHARS)
    transitions.report(doc_id, task_id, warnings=warnings, summary=summary, llm_usage=usage)
    return payload.but(drafts=drafts, warnings=warnings, summary=summary, llm_usage=usage)


def index_stage(document: Document, task_id: str, run: ProcessingRun, payload: StagePayload) -> None:
    """Embed and store the paragraphs, and finish the document (SUCCESS) in the same transaction."""
    doc_id, drafts = document.pk, list(payload.drafts)
    transitions.report(doc_id, task_id, stage=Stage.INDEXING, progress=INDEX_START)
    started = time.monotonic()
    model, vectors = index.embed_drafts(document, drafts)
    english = index.english_drafts(drafts, model)
    index.prepare_index(model, vectors)
    with transaction.atomic():
        index.replace_paragraphs(document, drafts, model, vectors, english)
        if not transitions.succeed(doc_id, task_id):
            raise transitions.not_owned(doc_id)  # rolls the paragraphs back
        run.timings["index"] = round(time.monotonic() - started, 3)
        runs.finish(run, RunOutcome.SUCCESS)  # in the same transaction as SUCCESS
