"""Every message the project sends to its Celery workers, and the queue each goes to: the one
place that routes (roles and priorities, settings.CELERY_ROLE_QUEUES), sends after the caller's
transaction commits, and logs a broker failure once.

Tasks are sent by name (``app.send_task``), so no caller imports the task modules (and through
them the pipeline): ``knowledge`` reaches this app only through here (knowledge/queue.py), and
a finished document's webhook is queued by a receiver of ``knowledge.signals.document_finished``
(connected in ``MediaLearningConfig.ready``). A message that cannot be sent is not lost work: the
database keeps the document where it was, and the reaper queues it again once the broker is back
(a segment left unsent is transcribed by its coordinator; a webhook is recorded as not sent).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction

from knowledge.queue import PRIORITIES

log = logging.getLogger(__name__)


ROLES = {  # task name -> the worker role whose queue takes it
    "media_learning.process_document": "transcribe",
    "media_learning.transcribe_segment": "transcribe",
    "media_learning.diarize_document": "diarize",
    "media_learning.polish_document": "llm",
    "media_learning.index_document": "index",
    "media_learning.render_audio": "default",
    "knowledge.tasks.deliver_webhook": "default",
}
STAGE_TASKS = {
    "diarize": "media_learning.diarize_document",
    "polish": "media_learning.polish_document",
    "index": "media_learning.index_document",
}


def queue_of(task_name: str, priority: str = "normal") -> str:
    """The queue of ``task_name``: its role's queue (the transcribe role's by priority)."""
    role = ROLES[task_name]
    queues = settings.CELERY_ROLE_QUEUES[role]
    return queues[PRIORITIES.index(priority)] if role == "transcribe" else queues[0]


def send(task_name: str, kwargs: dict[str, Any], *, what: str, task_id: str | None = None, priority: str = "normal",
         countdown: float | None = None) -> bool:  # fmt: skip
    """Send now; False (logged once, as ``what``) when the broker cannot be reached."""
    from settings.celery import app  # noqa: PLC0415 - the Celery app is needed only when a message is sent

    try:
        app.send_task(task_name, kwargs=kwargs, task_id=task_id, queue=queue_of(task_name, priority),
                      countdown=countdown)  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - any broker failure; the database keeps the work
        log.warning("could not queue %s (%s: %s)", what, type(exc).__name__, exc)
        return False
    return True


def after_commit(task_name: str, kwargs: dict[str, Any], *, what: str, **options: Any) -> None:
    """``send`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: send(task_name, kwargs, what=what, **options))


def process_document(document_id: int, task_id: str, priority: str = "normal") -> None:
    """A document's processing, on the transcribe queue of its priority, after commit. Unsent, it
    stays PENDING and the reaper queues it once the broker is back: an upload never fails for it."""
    after_commit("media_learning.process_document", {"document_id": document_id}, task_id=task_id,
                 priority=priority, what=f"document {document_id}; the reaper will queue it")  # fmt: skip


def next_stage(stage: str, document_id: int, task_id: str, payload: dict[str, Any]) -> None:
    """A document's next stage (diarize, polish or index) with its payload, after commit."""
    after_commit(STAGE_TASKS[stage], {"document_id": document_id, "payload": payload}, task_id=task_id,
                 what=f"the {stage} stage of document {document_id}; the reaper will re-queue it")  # fmt: skip


def transcribe_segment(document_id: int, task_id: str, job_id: int, priority: str = "normal") -> bool:
    """One fanned-out segment, now (its coordinator transcribes it itself when this fails)."""
    return send("media_learning.transcribe_segment", {"document_id": document_id, "task_id": task_id,
                "job_id": job_id}, priority=priority, what=f"segment job {job_id}")  # fmt: skip


def render_audio(document_id: int, fmt: str, rate: int) -> bool:
    """A document's audio rendition, now; False when the broker is down (the next request asks again)."""
    return send("media_learning.render_audio", {"document_id": document_id, "fmt": fmt, "rate": rate},
                what=f"the audio of document {document_id}")  # fmt: skip


def webhook(document_id: int, status: str) -> bool:
    """A document's webhook, its first attempt, now (the task retries itself with Celery's retry)."""
    kwargs = {"document_id": document_id, "status": status, "webhook_id": str(uuid.uuid4())}
    return send("knowledge.tasks.deliver_webhook", kwargs, what=f"the webhook of document {document_id}")


def on_document_queued(sender: object, document_id: int, task_id: str, priority: str = "normal", **kwargs: Any) -> None:
    """Receiver of ``knowledge.signals.document_queued``: the pipeline's first task, after commit."""
    process_document(document_id, task_id, priority)


def on_document_finished(sender: object, document_id: int, status: str, **kwargs: Any) -> None:
    """Receiver of ``knowledge.signals.document_finished``: the webhook, after commit, when the
    document (or its knowledge base) has one."""
    from knowledge import webhooks  # noqa: PLC0415 - the receiver runs once the app registry is ready

    def queue() -> None:
        if webhooks.wanted(document_id):
            webhook(document_id, status)

    transaction.on_commit(queue)
