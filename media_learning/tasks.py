"""Celery tasks: thin wrappers over media_learning.pipeline (the knowledge app's housekeeping
tasks are in knowledge/tasks.py)."""

from __future__ import annotations

import os
import socket
from typing import Any

from celery import Task, shared_task
from django.conf import settings

from knowledge import transitions
from media_learning import control, dispatch, memory, renditions, warmup  # noqa: F401 - registers signals and control commands
from media_learning.pipeline import runner, transcribe


class StageTask(Task):
    """A pipeline stage. Transient trouble (``runner.TransientError``) is retried by Celery with
    backoff (MEDIA_RETRY_BACKOFF seconds, doubling, full jitter, at most 300 s) up to
    MEDIA_MAX_TRIES tries in all; after the last, the document fails with the reason."""

    acks_late = True
    reject_on_worker_lost = True
    autoretry_for = (runner.TransientError,)
    retry_backoff = settings.MEDIA_RETRY_BACKOFF
    retry_backoff_max = 300
    retry_jitter = True
    max_retries = max(0, settings.MEDIA_MAX_TRIES - 1)

    def on_failure(self, exc: Exception, task_id: str, args: tuple, kwargs: dict, einfo: Any) -> None:
        if isinstance(exc, runner.TransientError) and "document_id" in kwargs:
            tries = self.request.retries + 1
            transitions.fail(kwargs["document_id"], f"gave up after {tries} tries: {exc}", task_id=task_id)


def _sent_on(document_id: int, outcome: runner.Outcome | runner.HandOff) -> str:
    """The stage's outcome; a document handed to its next stage is sent there now."""
    if isinstance(outcome, runner.HandOff):
        dispatch.next_stage(outcome.stage, document_id, outcome.task_id, outcome.payload)
    return str(outcome)


@shared_task(bind=True, name="media_learning.process_document", base=StageTask)
def process_document(self, *, document_id: int) -> str:  # noqa: ANN001 - bound Celery task
    """Transcription (queues transcribe.*), then the document goes on to the diarize, llm or index queue."""
    worker = self.request.hostname or ""
    outcome = runner.run(document_id, task_id=self.request.id, worker=worker, hand_off=settings.STAGE_QUEUES)
    return _sent_on(document_id, outcome)


@shared_task(bind=True, name="media_learning.diarize_document", base=StageTask)
def diarize_document(self, *, document_id: int, payload: dict) -> str:  # noqa: ANN001 - bound Celery task
    """Who spoke when (queue diarize), then on to the llm or index queue."""
    worker = self.request.hostname or ""
    return _sent_on(document_id, runner.run_stage("diarize", document_id, self.request.id, payload, worker))


@shared_task(bind=True, name="media_learning.polish_document", base=StageTask)
def polish_document(self, *, document_id: int, payload: dict) -> str:  # noqa: ANN001 - bound Celery task
    """Polishing and the summary (queue llm), then on to the index queue."""
    worker = self.request.hostname or ""
    return _sent_on(document_id, runner.run_stage("polish", document_id, self.request.id, payload, worker))


@shared_task(bind=True, name="media_learning.index_document", base=StageTask)
def index_document(self, *, document_id: int, payload: dict) -> str:  # noqa: ANN001 - bound Celery task
    """Embedding and storing the paragraphs (queue index): the document's last stage."""
    worker = self.request.hostname or ""
    return _sent_on(document_id, runner.run_stage("index", document_id, self.request.id, payload, worker))


@shared_task(bind=True, name="media_learning.transcribe_segment", acks_late=True, ignore_result=True)
def transcribe_segment(self, *, document_id: int, task_id: str, job_id: int) -> str:  # noqa: ANN001
    """One segment of a long document, fanned out by its coordinator (pipeline/fanout.py)."""
    worker = f"{self.request.hostname or socket.gethostname()} pid {os.getpid()}"
    return transcribe.transcribe_job(document_id, task_id, job_id, worker)


@shared_task(name="media_learning.render_audio", ignore_result=True)
def render_audio(*, document_id: int, fmt: str, rate: int) -> str:
    """A document's audio track as WAV or MP3, made once for GET .../audio/ (renditions.py)."""
    return renditions.render(document_id, fmt, rate)
