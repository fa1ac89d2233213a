"""The queue names, and the one place where ``knowledge`` hands work to ``media_learning``.

Queues are roles (settings.CELERY_ROLE_QUEUES): ``transcribe.high``, ``transcribe`` and
``transcribe.low`` take documents by priority (and their fan-out segments); ``diarize`` finds who
spoke when; ``llm`` polishes and summarises; ``index`` embeds and stores paragraphs; ``default``
has webhooks and housekeeping. A document moves from one to the next
(media_learning/pipeline/runner.py); every message is sent by ``media_learning/dispatch.py``.
Workers consume their queues in the order given and, on Redis, always take from the first
non-empty one (``queue_order_strategy: priority``), so a high-priority upload overtakes a backlog
of normal and low ones."""

from __future__ import annotations

from django.conf import settings

from knowledge.models import Document
from knowledge.signals import document_queued

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


def enqueue_processing(document_id: int, task_id: str, priority: str = "normal") -> None:
    """Ask for the document's processing: ``document_queued``, on which media_learning's
    dispatcher sends the processing task once the current transaction commits. If the broker
    cannot be reached, the document stays PENDING in the database and the reaper queues it once
    the broker is back: an upload never fails for it."""
    document_queued.send(sender=Document, document_id=document_id, task_id=task_id, priority=priority)
