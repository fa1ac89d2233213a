"""Run the pipeline for one document: ``run`` for transcription (and, without ``hand_off``, the
rest), ``run_stage`` for the diarize, polish and index stages. The Celery tasks only call these.

claim -> probe/decode -> transcribe | [diarize] -> split | [polish + summary] | embed -> index ->
SUCCESS, with progress and heartbeats in between; every exception becomes FAILURE with a one-line
reason, a retry (transient database trouble), or REVOKED when the user cancelled. At each ``|``
the Celery task hands the document (and its paragraphs, in the message; the diarize stage reads
the saved transcript) to the next stage's queue, diarize, llm or index, under a new task id;
``run`` without ``hand_off`` does all the stages in one process.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.db.models.fields.files import FieldFile

from core.errors import RetryableError, UserError
from knowledge import ingest, log_context, platform_media, runs, transitions, voices
from knowledge.chinese_script import to_script
from knowledge.models import Document, ProcessingRun, RunOutcome, Stage, Status
from llm_models.models import LanguageModel
from llm_models.probes import record_problem
from llm_models.providers.base import LlmError, LlmUnavailable
from llm_models.registry import get_client
from media_learning.pipeline import clean, decode, fanout, index, polish, reuse, speakers, split
from media_learning.pipeline.heartbeat import Heartbeat, TimeLimitExceeded
from media_learning.pipeline.payload import StagePayload
from media_learning.pipeline.transcribe import MediaTranscript, load_transcript, transcribe_media, transcription_options
from stt_models import routing
from stt_models.models import SpeechModel
from stt_models.options import DEFAULT_SEGMENT_DURATION
from stt_models.providers.openai_api import NO_TIMESTAMPS
from stt_models.registry import resolve_speech_model

log = logging.getLogger(__name__)

INDEX_START = 0.9  # of overall progress: transcribing (and polishing) come before, indexing after
LLM_START = 0.7  # where polishing starts when the document has an LLM
DIARIZE_SHARE = 0.1  # taken from transcription's share when the speakers are found
REPORT_EVERY = 1.0  # seconds between progress writes
NO_SPEECH = "no speech detected"


class TransientError(RetryableError):
    """What a stage raises to its task to be retried: the database or another service was
    briefly unavailable (the task's decorator declares the retries)."""


@contextmanager
def local_media(file: FieldFile) -> Iterator[str]:
    """A local path for the stored file, copying it from remote storage when needed."""
    try:
        yield file.path
        return
    except NotImplementedError:
        pass
    suffix = os.path.splitext(file.name)[1]
    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp, file.open("rb") as src:
        shutil.copyfileobj(src, tmp)
        tmp.flush()
        yield tmp.name


class ProgressReporter:
    """Turns media seconds transcribed into throttled progress writes, which also heartbeat
    and notice a cancel request (``transitions.report`` raises Cancelled)."""

    def __init__(self, document_id: int, task_id: str, duration: float | None, share: float = INDEX_START,
                 start: float = 0.0) -> None:  # fmt: skip
        self.document_id, self.task_id = document_id, task_id
        self.duration = duration if duration and duration > 0 else None
        self.share, self.start = share, start
        self.last = time.monotonic()

    def __call__(self, seconds_done: float) -> None:
        now = time.monotonic()
        if now - self.last < REPORT_EVERY:
            return
        self.last = now
        progress = None
        if self.duration is not None:
            progress = self.start + self.share * min(1.0, seconds_done / self.duration)
        transitions.report(self.document_id, self.task_id, progress=progress)


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
    options = document.options
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


def _transcribe_stage(document: Document, task_id: str, run: ProcessingRun,
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


def _paragraphs(document: Document, task_id: str, transcript: MediaTranscript, payload: StagePayload) -> StagePayload:
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
            segment_duration = float(document.options.get("segment_duration", DEFAULT_SEGMENT_DURATION))
            fanned = fanout.enabled(info.duration, segment_duration)
            fan = fanout.Fanout(document, task_id, run.worker) if fanned else None
            options = transcription_options(document.options, choice.language)
            transcript = transcribe_media(document, path, info, choice.model, options, reporter, fan)
    if not diarize or not transcript.segments:
        transitions.report(doc_id, task_id, speakers={})  # none found before (a re-run) stand no more
        document.speakers = {}
    return transcript, choice.model, list(choice.warnings), diarize and bool(transcript.segments)


def _diarize_stage(document: Document, task_id: str, run: ProcessingRun, payload: StagePayload,
                   transcript: MediaTranscript | None = None) -> StagePayload:  # fmt: skip
    """Who spoke when (speakers.py), recorded on the document, then the paragraphs. Speakers are an
    addition to the transcript: when finding them fails, the transcript is kept with a warning (a
    cancel or a lost claim still stops the document)."""
    doc_id = document.pk
    start = _diarize_start(document)
    transitions.report(doc_id, task_id, stage=Stage.DIARIZING, progress=start)
    transcript = transcript or load_transcript(document)
    found: dict = {}
    warnings: list[str] = []
    try:
        with runs.timed(run, "diarize"), local_media(document.file) as path:
            audio = decode.load_audio(path, decode.probe(path))
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
    return _paragraphs(document, task_id, transcript, payload.but(warnings=[*payload.warnings, *warnings]))


def _diarize_start(document: Document) -> float:
    """Where diarizing starts in the overall progress: the end of transcription's share."""
    return (LLM_START if document.llm_model_id is not None else INDEX_START) - DIARIZE_SHARE


def _unnamed(found: dict) -> dict:
    """A donor's speakers without the names its owner gave them (those are theirs, not the media's)."""
    mine = ("name", "voice", "match")
    kept = {k: {n: v for n, v in one.items() if n not in mine} for k, one in (found or {}).get("voices", {}).items()}
    return {**found, "voices": kept} if found else {}


def _polish_stage(document: Document, task_id: str, run: ProcessingRun, payload: StagePayload) -> StagePayload:
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


def _index_stage(document: Document, task_id: str, run: ProcessingRun, payload: StagePayload) -> None:
    """Embed and store the paragraphs, and finish the document (SUCCESS) in the same transaction."""
    doc_id, drafts = document.pk, list(payload.drafts)
    transitions.report(doc_id, task_id, stage=Stage.INDEXING, progress=INDEX_START)
    started = time.monotonic()
    model, vectors = index.embed_drafts(document, drafts)
    index.prepare_index(model, vectors)
    with transaction.atomic():
        index.replace_paragraphs(document, drafts, model, vectors)
        if not transitions.succeed(doc_id, task_id):
            raise transitions.not_owned(doc_id)  # rolls the paragraphs back
        run.timings["index"] = round(time.monotonic() - started, 3)
        runs.finish(run, RunOutcome.SUCCESS)  # in the same transaction as SUCCESS


def _next_stage(document: Document, payload: StagePayload, after: str) -> str:
    """The stage after ``after``: transcribe -> [diarize] -> [polish] -> index."""
    if after == "transcribe" and payload.diarize:
        return "diarize"
    if after in ("transcribe", "diarize") and document.llm_model_id is not None and payload.drafts:
        return "polish"
    return "index"


STAGES = {  # stage -> (the document's stage while it waits, its progress then)
    "diarize": (Stage.DIARIZING, _diarize_start),
    "polish": (Stage.POLISHING, lambda document: LLM_START),
    "index": (Stage.INDEXING, lambda document: INDEX_START),
}


@dataclass(frozen=True)
class HandOff:
    """A document passed to its next stage: the Celery task sends ``payload`` (the message of a
    ``StagePayload``) to that stage's queue under ``task_id`` (media_learning/dispatch.py)."""

    stage: str
    task_id: str
    payload: dict

    def __str__(self) -> str:
        return f"handed off to {self.stage}"


def _hand_off(document: Document, task_id: str, run: ProcessingRun, stage: str, payload: StagePayload) -> HandOff:
    """Pass the document to its next stage (diarize, llm or index) under a new task id; committed
    when this returns, so the task may send it at once."""
    new_stage, progress = STAGES[stage]
    next_id = str(uuid.uuid4())
    runs.save_timings(run)
    with transaction.atomic():
        if not transitions.handoff(document.pk, task_id, next_id, new_stage, progress(document)):
            raise transitions.not_owned(document.pk)
    log.info("handed to the %s stage as task %s", stage, next_id)
    return HandOff(stage, next_id, payload.to_message())


def _whole(document: Document, task_id: str, run: ProcessingRun, heartbeat: Heartbeat,
           hand_off: bool) -> str | HandOff:  # fmt: skip
    """The transcribe stage, then either a hand-off or the remaining stages in this process."""
    transcript, payload = _transcribe_stage(document, task_id, run, heartbeat)
    if not payload.diarize:
        payload = _paragraphs(document, task_id, transcript, payload)
    stage = _next_stage(document, payload, "transcribe")
    if hand_off:
        return _hand_off(document, task_id, run, stage, payload)
    return _onward(stage, document, task_id, run, payload, hand_off, transcript)


def _onward(stage: str, document: Document, task_id: str, run: ProcessingRun, payload: StagePayload, hand_off: bool,
            transcript: MediaTranscript | None = None) -> str | HandOff:  # fmt: skip
    """Run ``stage``, then hand the next one to its queue (``hand_off``) or run it here too."""
    while stage != "index":
        if stage == "diarize":
            payload = _diarize_stage(document, task_id, run, payload, transcript)
        elif document.llm_model is not None:  # polish (unless its model was deleted meanwhile)
            payload = _polish_stage(document, task_id, run, payload)
        stage = _next_stage(document, payload, stage)
        if hand_off:
            return _hand_off(document, task_id, run, stage, payload)
    _index_stage(document, task_id, run, payload)
    return Status.SUCCESS


def _claim(document_id: int, task_id: str, take: Callable[[int, str], bool] = transitions.claim) -> bool:
    if take(document_id, task_id):
        return True
    if transitions.held_by_live_run(document_id, task_id):
        # Another copy of this task holds a fresh lease: a redelivery right after its worker died
        # (the heartbeat stops, so wait the lease out once), or a duplicate of a live run (it keeps
        # beating, so the second claim fails and this copy stands down).
        time.sleep(settings.HEARTBEAT_LEASE + 1)
        return take(document_id, task_id)
    return False


def _quietly(action: Callable[..., object], *args: object) -> None:
    """Bookkeeping that must not hide the original error (the database may be what failed)."""
    try:
        action(*args)
    except DatabaseError as exc:
        log.warning("could not record the outcome: %s", exc)


def _worker_name(worker: str) -> str:
    return f"{worker or socket.gethostname()} pid {os.getpid()}"


def _document(document_id: int) -> Document | None:
    related = ("stt_model", "llm_model", "knowledge_base")
    return Document.objects.select_related(*related).filter(pk=document_id).first()


def run(document_id: int, task_id: str, worker: str = "", hand_off: bool = False) -> str | HandOff:
    """Process one document; returns the status it ended in, 'skipped', or (with ``hand_off``,
    the Celery task) the HandOff that the task sends to the next stage's queue; without
    ``hand_off`` this process runs every stage."""
    with log_context.bind(document=document_id):
        if not _claim(document_id, task_id):
            log.info("not claimable by task %s; skipping", task_id)
            return "skipped"
        document = _document(document_id)
        if document is None:  # deleted meanwhile
            return "skipped"
        run_ = runs.start(document, task_id, _worker_name(worker))
        with log_context.bind(attempt=run_.attempt), Heartbeat(document_id, task_id) as heartbeat:
            return _guarded(document, task_id, run_, lambda: _whole(document, task_id, run_, heartbeat, hand_off))


def run_stage(stage: str, document_id: int, task_id: str, payload: dict, worker: str = "",
              hand_off: bool = True) -> str | HandOff:  # fmt: skip
    """A later stage (``diarize``, ``polish`` or ``index``) of a document handed over by the one before."""
    with log_context.bind(document=document_id):
        if not _claim(document_id, task_id, transitions.adopt):
            if transitions.acknowledge_cancel(document_id, task_id):  # cancelled while it waited in the queue
                runs.close(int(payload["run_id"]), RunOutcome.REVOKED, "cancelled")
                return Status.REVOKED
            log.info("not ours (task %s); skipping", task_id)
            return "skipped"
        document = _document(document_id)
        if document is None:  # deleted meanwhile
            return "skipped"
        run_ = runs.resume(int(payload["run_id"]), document, task_id, f"{stage}: {_worker_name(worker)}")
        with log_context.bind(attempt=run_.attempt), Heartbeat(document_id, task_id) as heartbeat:
            heartbeat.set_duration(document.duration)
            return _guarded(document, task_id, run_,
                            lambda: _onward(stage, document, task_id, run_, StagePayload.from_message(payload),
                                            hand_off))  # fmt: skip


def _guarded(document: Document, task_id: str, run: ProcessingRun,
             work: Callable[[], str | HandOff]) -> str | HandOff:  # fmt: skip
    """Run one stage; every exception becomes FAILURE with a reason, REVOKED, or a retry."""
    document_id = document.pk
    try:
        outcome = work()
    except TimeLimitExceeded as exc:  # the heartbeat thread has failed the document with the reason
        _quietly(fanout.cleanup, document_id)
        runs.finish(run, RunOutcome.FAILURE, Document.objects.get(pk=document_id).error or exc)
        return Status.FAILURE
    except transitions.Cancelled:
        _quietly(fanout.cleanup, document_id)
        transitions.acknowledge_cancel(document_id)
        runs.finish(run, RunOutcome.REVOKED, "cancelled")
        log.info("cancelled")
        return Status.REVOKED
    except transitions.ClaimLost as exc:
        log.warning("%s; stopping", exc)
        _quietly(fanout.forget_if_deleted, document_id)
        runs.finish(run, RunOutcome.LOST, exc)
        return "skipped"
    except (OperationalError, InterfaceError, RetryableError) as exc:
        _quietly(runs.finish, run, RunOutcome.RETRY, exc)
        _quietly(transitions.release, document_id, task_id)
        raise TransientError(transitions.one_line(str(exc))) from exc
    except UserError as exc:  # bad media, a refused URL or model, a duplicate: one line for the user
        _quietly(fanout.cleanup, document_id)
        transitions.fail(document_id, str(exc), task_id)
        runs.finish(run, RunOutcome.FAILURE, exc)
        log.info("failed: %s", exc)
        return Status.FAILURE
    except Exception as exc:  # every failure must end as FAILURE with a reason, never stuck STARTED
        log.exception("failed unexpectedly")
        _quietly(fanout.cleanup, document_id)
        transitions.fail(document_id, f"internal error: {type(exc).__name__}: {exc}", task_id)
        runs.finish(run, RunOutcome.FAILURE, exc, with_traceback=True)
        return Status.FAILURE
    if outcome == Status.SUCCESS:
        log.info("done in %.2fs: %s", sum(run.timings.values()), run.timings)
    return outcome
