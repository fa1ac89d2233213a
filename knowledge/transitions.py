"""The document status machine. Every transition is one conditional UPDATE, so a race loses
cleanly instead of overwriting: the caller learns from the row count whether it won.

    PENDING --claim--> STARTED/transcribing -> [polishing] -> indexing --> SUCCESS
       |                    |  permanent error -------------------------> FAILURE (error set)
       +--cancel--> REVOKED  +--cancel--> REVOKE --(worker sees it)--> REVOKED
    FAILURE / REVOKED --reprocess--> PENDING
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import Now

from knowledge import signals
from knowledge.models import Document, Stage, Status

MAX_ERROR_CHARS = 500


class Cancelled(Exception):
    """The document was asked to stop (status REVOKE)."""


class ClaimLost(Exception):
    """The document is no longer STARTED under this task (deleted, reset or taken over)."""


def one_line(message: str, limit: int = MAX_ERROR_CHARS) -> str:
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _stamp(status: str) -> RawSQL:
    return RawSQL("status_meta || jsonb_build_object(%s, now())", [status])


def _move(query: Q, status: str, **fields: Any) -> int:
    return Document.objects.filter(query).update(status=status, status_meta=_stamp(status), updated_at=Now(), **fields)


def _finish(document_id: int, query: Q, status: str, **fields: Any) -> bool:
    """A move to a terminal status, told to ``document_finished`` receivers (the webhook)."""
    moved = bool(_move(query, status, **fields))
    if moved:
        signals.document_finished.send(sender=Document, document_id=document_id, status=status)
    return moved


def _lease_free() -> Q:
    """The heartbeat says no process is running the document (none yet, released, or stale)."""
    stale = Now() - timedelta(seconds=settings.HEARTBEAT_LEASE)
    return Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=stale)


def claim(document_id: int, task_id: str) -> bool:
    """PENDING -> STARTED/transcribing. The same task id may take its STARTED document back (a
    retry, or a redelivery after its worker died) once the lease is free."""
    query = Q(pk=document_id) & (Q(status=Status.PENDING) | (Q(status=Status.STARTED, task_id=task_id) & _lease_free()))
    return bool(
        _move(
            query, Status.STARTED, stage=Stage.TRANSCRIBING, progress=0.0, error="", task_id=task_id, heartbeat_at=Now()
        )  # fmt: skip
    )


def adopt(document_id: int, task_id: str) -> bool:
    """A later stage's task takes over the STARTED document handed to it (or its own retry takes
    it back) once the lease is free."""
    query = Q(pk=document_id, status=Status.STARTED, task_id=task_id) & _lease_free()
    return bool(Document.objects.filter(query).update(heartbeat_at=Now(), updated_at=Now()))


def handoff(document_id: int, task_id: str, next_task_id: str, stage: str, progress: float) -> bool:
    """Pass a STARTED document to the task of its next stage (queued on that stage's queue). The
    lease is left free: the document waits in the queue, which the reaper checks before it
    decides the task was lost."""
    return bool(
        Document.objects.filter(_owned(document_id, task_id)).update(
            task_id=next_task_id, stage=stage, progress=progress, heartbeat_at=None, updated_at=Now()
        )
    )


def held_by_live_run(document_id: int, task_id: str) -> bool:
    """STARTED under this very task id with a fresh heartbeat: another copy of the task runs it."""
    query = Q(pk=document_id, status=Status.STARTED, task_id=task_id) & ~_lease_free()
    return Document.objects.filter(query).exists()


def beat(document_id: int, task_id: str) -> bool:
    """Heartbeat only (the background thread): True while the task still owns the document."""
    return bool(Document.objects.filter(_owned(document_id, task_id)).update(heartbeat_at=Now()))


def release(document_id: int, task_id: str) -> None:
    """Free the lease at once (before a retry), so the retried task need not wait for it."""
    Document.objects.filter(_owned(document_id, task_id)).update(heartbeat_at=None, updated_at=Now())


def requeue(document_id: int, old_task_id: str, new_task_id: str, from_status: str) -> bool:
    """The reaper's move: a stuck PENDING or STARTED document back to PENDING under a new task id,
    provided nothing changed since the reaper looked."""
    query = Q(pk=document_id, status=from_status, task_id=old_task_id)
    if from_status == Status.STARTED:
        query &= _lease_free()
    return bool(_move(query, Status.PENDING, stage=Stage.NONE, progress=0.0, task_id=new_task_id, heartbeat_at=None))


def _owned(document_id: int, task_id: str) -> Q:
    return Q(pk=document_id, status=Status.STARTED, task_id=task_id)


def not_owned(document_id: int) -> Exception:
    """The exception that says why this task no longer owns the document."""
    status = Document.objects.filter(pk=document_id).values_list("status", flat=True).first()
    if status == Status.REVOKE:
        return Cancelled()
    return ClaimLost(f"document {document_id} is {status or 'gone'}")


def report(document_id: int, task_id: str, *, stage: str | None = None, progress: float | None = None,
           **fields: Any) -> None:  # fmt: skip
    """Heartbeat with optional stage/progress/fields; raises Cancelled or ClaimLost when not ours."""
    values: dict[str, Any] = {"heartbeat_at": Now(), "updated_at": Now(), **fields}
    if stage is not None:
        values["stage"] = stage
    if progress is not None:
        values["progress"] = min(1.0, max(0.0, float(progress)))
    if not Document.objects.filter(_owned(document_id, task_id)).update(**values):
        raise not_owned(document_id)


def succeed(document_id: int, task_id: str) -> bool:
    return _finish(document_id, _owned(document_id, task_id), Status.SUCCESS, stage=Stage.NONE, progress=1.0, error="",
                   searchable=True)  # fmt: skip


def fail(document_id: int, error: str, task_id: str | None = None) -> bool:
    """PENDING/STARTED -> FAILURE with a one-line human reason."""
    query = Q(pk=document_id, status__in=[Status.PENDING, Status.STARTED])
    if task_id is not None:
        query &= Q(task_id=task_id) | Q(status=Status.PENDING)
    return _finish(document_id, query, Status.FAILURE, stage=Stage.NONE, error=one_line(error))


def acknowledge_cancel(document_id: int, task_id: str | None = None) -> bool:
    """REVOKE -> REVOKED, done by the worker once it has stopped (by the task the document was
    handed to, when given)."""
    query = Q(pk=document_id, status=Status.REVOKE)
    if task_id is not None:
        query &= Q(task_id=task_id)
    return _finish(document_id, query, Status.REVOKED, stage=Stage.NONE)


def cancel(document_id: int) -> str | None:
    """Ask to stop: PENDING -> REVOKED at once, STARTED -> REVOKE. Returns the new status."""
    if _finish(document_id, Q(pk=document_id, status=Status.PENDING), Status.REVOKED, stage=Stage.NONE):
        return Status.REVOKED
    if _move(Q(pk=document_id, status=Status.STARTED), Status.REVOKE):
        return Status.REVOKE
    return None


def reset_for_rerun(document_id: int, task_id: str) -> bool:
    """SUCCESS -> PENDING under a new task id; its paragraphs stay searchable until the new ones
    replace them."""
    query = Q(pk=document_id, status=Status.SUCCESS)
    return bool(_move(query, Status.PENDING, stage=Stage.NONE, progress=0.0, error="", task_id=task_id))


def reset_for_reprocess(document_id: int, task_id: str) -> bool:
    """FAILURE/REVOKED -> PENDING under a new task id."""
    query = Q(pk=document_id, status__in=[Status.FAILURE, Status.REVOKED])
    return bool(_move(query, Status.PENDING, stage=Stage.NONE, progress=0.0, error="", task_id=task_id))
