"""The one place where ``knowledge`` hands work to ``media_learning``, and the queue names.

Queues are roles (settings.CELERY_ROLE_QUEUES): ``transcribe.high``, ``transcribe`` and
``transcribe.low`` take documents by priority (and their fan-out segments); ``diarize`` finds who
spoke when; ``llm`` polishes and summarises; ``index`` embeds and stores paragraphs; ``default``
has webhooks and housekeeping. A document moves from one to the next
(media_learning/pipeline/runner.py). Workers consume their queues in the order given and, on
Redis, always take from the first non-empty one
(``queue_order_strategy: priority``), so a high-priority upload overtakes a backlog of normal and
low ones."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction

log = logging.getLogger(__name__)

PRIORITIES = ("high", "normal", "low")


def processing_queues() -> list[str]:
    """The transcribe queues, highest priority first (the order a worker consumes them in)."""
    return list(settings.CELERY_ROLE_QUEUES["transcribe"])


def role_queues(role: str) -> list[str]:
    """What a worker of this role consumes (``all``: every queue, in settings order)."""
    if role == "all":
        return [queue.name for queue in settings.CELERY_TASK_QUEUES]
    return list(settings.CELERY_ROLE_QUEUES[role])


def work_queues() -> list[str]:
    """The queues that hold documents' work (the reaper and health look at these)."""
    return [*processing_queues(), *role_queues("diarize"), *role_queues("llm"), *role_queues("index")]


def queue_for(priority: str = "normal") -> str:
    return processing_queues()[PRIORITIES.index(priority)]


def enqueue_processing(document_id: int, task_id: str, priority: str = "normal") -> None:
    """Send the processing task once the current transaction commits. If the broker cannot be
    reached (after Celery's own publish retries), the document stays PENDING in the database and
    the reaper queues it once the broker is back: an upload never fails for it."""

    def send() -> None:
        from media_learning.tasks import process_document

        try:
            process_document.apply_async(
                kwargs={"document_id": document_id}, task_id=task_id, queue=queue_for(priority)
            )
        except Exception as exc:  # noqa: BLE001 - any broker failure; the database keeps the document
            log.warning("could not queue document %s (%s: %s); the reaper will queue it when the broker is back",
                        document_id, type(exc).__name__, exc)  # fmt: skip

    transaction.on_commit(send)
