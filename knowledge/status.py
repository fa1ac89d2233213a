"""The document status machine. Every transition is one conditional UPDATE, so a race loses
cleanly instead of overwriting: the caller learns from the row count whether it won.

    PENDING --claim--> STARTED/transcribing -> [polishing] -> indexing --> SUCCESS
       |                    |  permanent error -------------------------> FAILURE (error set)
       +--cancel--> REVOKED  +--cancel--> REVOKE --(worker sees it)--> REVOKED
    FAILURE / REVOKED --reprocess--> PENDING
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import Now

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


def claim(document_id: int, task_id: str) -> bool:
    """PENDING -> STARTED/transcribing. A retry of the same task re-claims its STARTED document."""
    query = Q(pk=document_id) & (Q(status=Status.PENDING) | Q(status=Status.STARTED, task_id=task_id))
    return bool(
        _move(
            query, Status.STARTED, stage=Stage.TRANSCRIBING, progress=0.0, error="", task_id=task_id, heartbeat_at=Now()
        )  # fmt: skip
    )


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
    return bool(_move(_owned(document_id, task_id), Status.SUCCESS, stage=Stage.NONE, progress=1.0, error=""))


def fail(document_id: int, error: str, task_id: str | None = None) -> bool:
    """PENDING/STARTED -> FAILURE with a one-line human reason."""
    query = Q(pk=document_id, status__in=[Status.PENDING, Status.STARTED])
    if task_id is not None:
        query &= Q(task_id=task_id) | Q(status=Status.PENDING)
    return bool(_move(query, Status.FAILURE, stage=Stage.NONE, error=one_line(error)))


def acknowledge_cancel(document_id: int) -> bool:
    """REVOKE -> REVOKED, done by the worker once it has stopped."""
    return bool(_move(Q(pk=document_id, status=Status.REVOKE), Status.REVOKED, stage=Stage.NONE))


def cancel(document_id: int) -> str | None:
    """Ask to stop: PENDING -> REVOKED at once, STARTED -> REVOKE. Returns the new status."""
    if _move(Q(pk=document_id, status=Status.PENDING), Status.REVOKED, stage=Stage.NONE):
        return Status.REVOKED
    if _move(Q(pk=document_id, status=Status.STARTED), Status.REVOKE):
        return Status.REVOKE
    return None


def reset_for_reprocess(document_id: int, task_id: str) -> bool:
    """FAILURE/REVOKED -> PENDING under a new task id."""
    query = Q(pk=document_id, status__in=[Status.FAILURE, Status.REVOKED])
    return bool(_move(query, Status.PENDING, stage=Stage.NONE, progress=0.0, error="", task_id=task_id))
