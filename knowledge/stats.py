"""Counts for operators: documents by status and stage, the oldest queued one, failures by
error type, stale heartbeats, and what the broker and workers hold."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone

from knowledge import broker
from knowledge.models import Document, Status
from knowledge.selection import last_error_type


def media_status(*, with_broker: bool = True) -> dict[str, Any]:
    now = timezone.now()
    by_status = dict(Document.objects.values_list("status").annotate(n=Count("id")).order_by())
    by_stage = dict(
        Document.objects.filter(status=Status.STARTED).values_list("stage").annotate(n=Count("id")).order_by()
    )
    oldest = Document.objects.filter(status=Status.PENDING).aggregate(t=Min("created_at"))["t"]
    failures = (
        Document.objects.filter(status=Status.FAILURE)
        .annotate(kind=last_error_type())
        .values_list("kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    stale_cut = now - timedelta(seconds=settings.REAP_STARTED_AFTER)
    report: dict[str, Any] = {
        "by_status": {s: by_status.get(s, 0) for s in Status.values},
        "started_by_stage": by_stage,
        "oldest_pending_seconds": round((now - oldest).total_seconds(), 1) if oldest else None,
        "failures_by_error_type": {(kind or "unknown"): n for kind, n in failures},
        "stale_heartbeats": Document.objects.filter(status=Status.STARTED, heartbeat_at__lt=stale_cut).count(),
    }
    if with_broker:
        report["queue_depth"] = broker.queue_depth()
        report["workers"] = broker.worker_count()
    return report
