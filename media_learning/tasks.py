"""Celery tasks: thin wrappers over media_learning.pipeline."""

from __future__ import annotations

from celery import shared_task

from knowledge import status
from knowledge.models import Status
from media_learning import control, warmup  # noqa: F401 - registers worker warm-up signals and control commands
from media_learning.pipeline import runner

MAX_RETRIES = 3


@shared_task(bind=True, name="media_learning.process_document", max_retries=MAX_RETRIES, acks_late=True,
             reject_on_worker_lost=True)  # fmt: skip
def process_document(self, *, document_id: int) -> str:  # noqa: ANN001 - bound Celery task
    try:
        return runner.run(document_id, task_id=self.request.id)
    except runner.TransientError as exc:
        if self.request.retries >= MAX_RETRIES:
            status.fail(document_id, f"gave up after {MAX_RETRIES} retries: {exc}", task_id=self.request.id)
            return Status.FAILURE
        raise self.retry(exc=exc, countdown=min(60, 5 * 2**self.request.retries)) from exc
