"""The reaper: the database, not the broker, is the source of truth. It finds documents whose
task is gone (the worker died, the broker lost its data) and queues them again, or fails them
with a reason when their workers keep dying."""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict, dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from knowledge import broker, runs, transitions
from knowledge.models import Document, ProcessingRun, RunOutcome, Status
from knowledge.queue import enqueue_processing

log = logging.getLogger(__name__)


@dataclass
class Reaped:
    document_id: int
    action: str  # requeued, failed, revoked
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)


def _requeue(document: Document, from_status: str) -> bool:
    task_id = str(uuid.uuid4())
    with transaction.atomic():
        if not transitions.requeue(document.pk, document.task_id, task_id, from_status):
            return False
        enqueue_processing(document.pk, task_id, document.priority)
    return True


def _reap_started(document: Document, dry_run: bool) -> Reaped | None:
    beat = document.heartbeat_at or document.updated_at
    where = f"{document.stage or 'starting'} at {document.progress:.0%}"
    reason = f"no heartbeat for {(timezone.now() - beat).total_seconds():.0f} s while {where}"
    if document.status == Status.REVOKE:
        if not dry_run:
            runs.close_lost(document.pk, reason)
            transitions.acknowledge_cancel(document.pk)
        return Reaped(document.pk, "revoked", reason)
    lost = ProcessingRun.objects.filter(document=document, outcome__in=[RunOutcome.LOST, RunOutcome.RUNNING]).count()
    if lost >= settings.REAP_MAX_LOST:
        reason = (f"the worker was lost {lost} times while {where} (killed, out of memory, or the broker lost "
                  "the task); see the processing runs")  # fmt: skip
        if not dry_run:
            runs.close_lost(document.pk, "no heartbeat")
            if not transitions.fail(document.pk, reason, task_id=document.task_id):
                return None
        return Reaped(document.pk, "failed", reason)
    if not dry_run:
        runs.close_lost(document.pk, reason)
        if not _requeue(document, Status.STARTED):
            return None
    return Reaped(document.pk, "requeued", reason)


class _Broker:
    """What the broker and the workers hold, asked once per pass and only when needed."""

    def __init__(self) -> None:
        self.ids: set[str] | None = None
        self.opaque = False

    def holds(self, task_id: str) -> bool:
        if self.ids is None:
            queued = broker.queued_task_ids()
            # a broker we cannot browse (RabbitMQ): judge only once its queues are empty
            self.opaque = queued is None and broker.queue_depth() != 0
            self.ids = broker.worker_task_ids() | (queued or set())
        return self.opaque or task_id in self.ids


def reap(*, dry_run: bool = False, started_after: float | None = None,
         pending_after: float | None = None) -> list[Reaped]:  # fmt: skip
    """One pass: STARTED (or REVOKE) documents whose heartbeat is older than ``started_after``
    seconds, and PENDING ones older than ``pending_after`` whose task is neither queued nor held
    by a worker."""
    now = timezone.now()
    started_cut = now - timedelta(seconds=settings.REAP_STARTED_AFTER if started_after is None else started_after)
    pending_cut = now - timedelta(seconds=settings.REAP_PENDING_AFTER if pending_after is None else pending_after)
    done: list[Reaped] = []
    _in_broker = _Broker().holds

    stale = Q(heartbeat_at__lt=started_cut) | Q(heartbeat_at__isnull=True, updated_at__lt=started_cut)
    for document in Document.objects.filter(Q(status__in=[Status.STARTED, Status.REVOKE]) & stale):
        # No heartbeat at all while STARTED: handed to the llm or index queue and waiting there
        # (or released for a retry). Lost only if its task is nowhere.
        if document.status == Status.STARTED and document.heartbeat_at is None and _in_broker(document.task_id):
            continue
        if (reaped := _reap_started(document, dry_run)) is not None:
            done.append(reaped)

    waiting = list(Document.objects.filter(status=Status.PENDING, updated_at__lt=pending_cut))
    if waiting:
        for document in waiting:
            if _in_broker(document.task_id):
                continue
            age = (now - document.updated_at).total_seconds()
            reason = (f"queued {age:.0f} s ago but its task is in no queue and on no worker (its worker died, or "
                      "the broker lost it)")  # fmt: skip
            if dry_run or _requeue(document, Status.PENDING):
                done.append(Reaped(document.pk, "requeued", reason))
    for reaped in done:
        log.warning("reaper%s: document %s %s: %s", " (dry run)" if dry_run else "", reaped.document_id,
                    reaped.action, reaped.reason)  # fmt: skip
    return done
