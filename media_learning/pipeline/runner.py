"""Run the whole pipeline for one document. The Celery task only calls ``run``.

claim -> probe/decode -> transcribe -> split -> [polish + summary] -> embed -> index -> SUCCESS, with progress and
heartbeats in between; every exception becomes FAILURE with a one-line reason, a retry
(transient database trouble), or REVOKED when the user cancelled.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models.fields.files import FieldFile

from knowledge import status
from knowledge.models import Document, Stage, Status
from llm_models.checks import record_problem
from llm_models.models import LanguageModel
from llm_models.providers.base import LlmError, LlmUnavailable
from llm_models.registry import get_client
from media_learning.pipeline import decode, index, polish, split
from media_learning.pipeline.transcribe import transcribe_media
from stt_models.providers.base import SttError, SttUnavailable
from stt_models.registry import SpeechModelNotFound, resolve_speech_model

log = logging.getLogger(__name__)

INDEX_START = 0.9  # of overall progress: transcribing (and polishing) come before, indexing after
LLM_START = 0.7  # where polishing starts when the document has an LLM
REPORT_EVERY = 1.0  # seconds between progress writes
NO_SPEECH = "no speech detected"


class TransientError(Exception):
    """Worth retrying: the database or another service was briefly unavailable."""


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
    and notice a cancel request (``status.report`` raises Cancelled)."""

    def __init__(self, document_id: int, task_id: str, duration: float | None, share: float = INDEX_START) -> None:
        self.document_id, self.task_id = document_id, task_id
        self.duration = duration if duration and duration > 0 else None
        self.share = share
        self.last = time.monotonic()

    def __call__(self, seconds_done: float) -> None:
        now = time.monotonic()
        if now - self.last < REPORT_EVERY:
            return
        self.last = now
        progress = None
        if self.duration is not None:
            progress = self.share * min(1.0, seconds_done / self.duration)
        status.report(self.document_id, self.task_id, progress=progress)


def _polish(document: Document, task_id: str, model: LanguageModel, drafts: list[split.ParagraphDraft],
            language: str) -> tuple[polish.LlmOutcome, dict]:  # fmt: skip
    """The LLM step, reporting its own progress between LLM_START and INDEX_START."""

    def on_progress(fraction: float) -> None:
        status.report(document.pk, task_id, progress=LLM_START + (INDEX_START - LLM_START) * fraction)

    try:
        client = get_client(model)
    except LlmError as exc:
        record_problem(model, exc)
        return polish.LlmOutcome(drafts=drafts, warnings=[f"LLM skipped, raw transcript kept: {exc}"]), {}
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


def _process(document: Document, task_id: str) -> None:
    doc_id = document.pk
    speech_model = document.stt_model
    if speech_model is None:  # record which model produced the transcript
        speech_model = resolve_speech_model(None)
        status.report(doc_id, task_id, stt_model=speech_model)
    llm = document.llm_model
    with local_media(document.file) as path:
        info = decode.probe(path)
        status.report(doc_id, task_id, mime=info.mime, duration=info.duration)
        reporter = ProgressReporter(doc_id, task_id, info.duration, share=LLM_START if llm else INDEX_START)
        transcript = transcribe_media(document, path, info, speech_model, document.options, reporter)
    warnings = [] if transcript.segments else [NO_SPEECH]
    found = {"language": transcript.language, "duration": round(transcript.duration, 3)}
    drafts = split.build_paragraphs(
        transcript.segments,
        max_chars=settings.PARAGRAPH_MAX_CHARS,
        min_chars=settings.PARAGRAPH_MIN_CHARS,
        pause=settings.PARAGRAPH_PAUSE_SECONDS,
    )
    summary, usage = "", {}
    if llm is not None and drafts:
        status.report(doc_id, task_id, stage=Stage.POLISHING, progress=LLM_START, warnings=warnings, **found)
        outcome, usage = _polish(document, task_id, llm, drafts, transcript.language)
        drafts, summary, warnings = outcome.drafts, outcome.summary, warnings + outcome.warnings
        if summary:
            end = drafts[-1].end if drafts else transcript.duration
            drafts += polish.summary_drafts(summary, 0.0, end, settings.PARAGRAPH_MAX_CHARS)
    status.report(doc_id, task_id, stage=Stage.INDEXING, progress=INDEX_START, warnings=warnings, summary=summary,
                  llm_usage=usage, **found)  # fmt: skip

    model, vectors = index.embed_drafts(drafts)
    index.prepare_index(model, vectors)
    with transaction.atomic():
        index.replace_paragraphs(document, drafts, model, vectors)
        if not status.succeed(doc_id, task_id):
            raise status.not_owned(doc_id)  # rolls the paragraphs back


def run(document_id: int, task_id: str) -> str:
    """Process one document; returns the status it ended in (or 'skipped')."""
    if not status.claim(document_id, task_id):
        log.info("document %s not claimable by task %s; skipping", document_id, task_id)
        return "skipped"
    started = time.monotonic()
    try:
        document = Document.objects.select_related("stt_model", "llm_model").get(pk=document_id)
        _process(document, task_id)
    except status.Cancelled:
        status.acknowledge_cancel(document_id)
        log.info("document %s cancelled", document_id)
        return Status.REVOKED
    except status.ClaimLost as exc:
        log.warning("document %s: %s; stopping", document_id, exc)
        return "skipped"
    except Document.DoesNotExist:
        return "skipped"
    except (decode.MediaError, SttError, SpeechModelNotFound) as exc:
        status.fail(document_id, str(exc), task_id)
        log.info("document %s failed: %s", document_id, exc)
        return Status.FAILURE
    except (OperationalError, InterfaceError, SttUnavailable) as exc:
        raise TransientError(status.one_line(str(exc))) from exc
    except Exception as exc:  # every failure must end as FAILURE with a reason, never stuck STARTED
        log.exception("document %s failed unexpectedly", document_id)
        status.fail(document_id, f"internal error: {type(exc).__name__}: {exc}", task_id)
        return Status.FAILURE
    log.info("document %s done in %.2fs", document_id, time.monotonic() - started)
    return Status.SUCCESS
