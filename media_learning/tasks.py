"""Celery tasks: thin wrappers over media_learning.pipeline (the knowledge app's housekeeping
tasks are in knowledge/tasks.py)."""

from __future__ import annotations

import os
import random
import socket

from celery import shared_task
from django.conf import settings

from knowledge import status
from knowledge.models import Status
from media_learning import control, dispatch, renditions, warmup  # noqa: F401 - registers signals and control commands
from media_learning.pipeline import fanout, runner


def retry_delay(retries: int) -> float:
    """Exponential backoff with jitter: about 5 s, 10 s, 20 s ... (MEDIA_RETRY_BACKOFF doubling)."""
    return min(300.0, settings.MEDIA_RETRY_BACKOFF * 2**retries * random.uniform(0.5, 1.5))


def _with_retries(task, document_id: int, work) -> str:  # noqa: ANN001 - a bound Celery task and a callable
    """Run ``work``, sending the document on when it hands it to its next stage; transient
    trouble retries the task with backoff, up to MEDIA_MAX_TRIES."""
    try:
        outcome = work()
        if isinstance(outcome, runner.HandOff):
            dispatch.next_stage(outcome.stage, document_id, outcome.task_id, outcome.payload)
        return str(outcome)
    except runner.TransientError as exc:
        tries = task.request.retries + 1
        if tries >= settings.MEDIA_MAX_TRIES:
            status.fail(document_id, f"gave up after {tries} tries: {exc}", task_id=task.request.id)
            return Status.FAILURE
        raise task.retry(exc=exc, countdown=retry_delay(task.request.retries), max_retries=None) from exc


@shared_task(bind=True, name="media_learning.process_document", acks_late=True, reject_on_worker_lost=True)
def process_document(self, *, document_id: int) -> str:  # noqa: ANN001 - bound Celery task
    """Transcription (queues transcribe.*), then the document goes on to the diarize, llm or index queue."""
    worker = self.request.hostname or ""
    return _with_retries(self, document_id, lambda: runner.run(document_id, task_id=self.request.id, worker=worker,
                                                               hand_off=settings.STAGE_QUEUES))  # fmt: skip


@shared_task(bind=True, name="media_learning.diarize_document", acks_late=True, reject_on_worker_lost=True)
def diarize_document(self, *, document_id: int, payload: dict) -> str:  # noqa: ANN001 - bound Celery task
    """Who spoke when (queue diarize), then on to the llm or index queue."""
    worker = self.request.hostname or ""
    return _with_retries(self, document_id, lambda: runner.run_stage("diarize", document_id, self.request.id, payload,
                                                                     worker))  # fmt: skip


@shared_task(bind=True, name="media_learning.polish_document", acks_late=True, reject_on_worker_lost=True)
def polish_document(self, *, document_id: int, payload: dict) -> str:  # noqa: ANN001 - bound Celery task
    """Polishing and the summary (queue llm), then on to the index queue."""
    worker = self.request.hostname or ""
    return _with_retries(self, document_id, lambda: runner.run_stage("polish", document_id, self.request.id, payload,
                                                                     worker))  # fmt: skip


@shared_task(bind=True, name="media_learning.index_document", acks_late=True, reject_on_worker_lost=True)
def index_document(self, *, document_id: int, payload: dict) -> str:  # noqa: ANN001 - bound Celery task
    """Embedding and storing the paragraphs (queue index): the document's last stage."""
    worker = self.request.hostname or ""
    return _with_retries(self, document_id, lambda: runner.run_stage("index", document_id, self.request.id, payload,
                                                                     worker))  # fmt: skip


@shared_task(bind=True, name="media_learning.transcribe_segment", acks_late=True, ignore_result=True)
def transcribe_segment(self, *, document_id: int, task_id: str, job_id: int) -> str:  # noqa: ANN001
    """One segment of a long document, fanned out by its coordinator (pipeline/fanout.py)."""
    worker = f"{self.request.hostname or socket.gethostname()} pid {os.getpid()}"
    return fanout.transcribe_job(document_id, task_id, job_id, worker)


@shared_task(name="media_learning.render_audio", ignore_result=True)
def render_audio(*, document_id: int, fmt: str, rate: int) -> str:
    """A document's audio track as WAV or MP3, made once for GET .../audio/ (renditions.py)."""
    return renditions.render(document_id, fmt, rate)
