"""Celery tasks of the knowledge app (thin: the work is in knowledge.webhooks, sources, reaper and
retention). The housekeeping tasks keep the names they were registered under (media_learning.*),
so beat schedules and queued messages still find them."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from core.errors import RetryableError
from knowledge import reaper, retention, sources, webhooks

log = logging.getLogger(__name__)


class NotDelivered(RetryableError):
    """The receiver did not take the webhook (an error status, no answer): Celery retries it."""


@shared_task(bind=True, ignore_result=True, acks_late=True, max_retries=None, autoretry_for=(NotDelivered,),
             retry_backoff=settings.WEBHOOK_RETRY_BACKOFF, retry_backoff_max=3600, retry_jitter=True)  # fmt: skip
def deliver_webhook(self, *, document_id: int, status: str, attempt: int = 1, webhook_id: str = "") -> None:  # noqa: ANN001
    """POST the document's webhook; retried by Celery (backoff from WEBHOOK_RETRY_BACKOFF seconds,
    doubling, full jitter) until WEBHOOK_MAX_TRIES attempts. ``attempt`` is the retry count plus
    one (a message queued by an earlier version carries it; it agrees)."""
    del attempt
    attempt = self.request.retries + 1
    webhook_id = webhook_id or self.request.id  # a message queued before ids existed (retries keep the task id)
    delivery = webhooks.deliver(document_id, status, attempt, webhook_id)
    if delivery is None or delivery.delivered:
        return
    if attempt >= settings.WEBHOOK_MAX_TRIES:
        log.warning("webhook of document %s failed %s times; giving up (%s)", document_id, attempt,
                    delivery.error or delivery.status_code)  # fmt: skip
        return
    raise NotDelivered(delivery.error or f"HTTP {delivery.status_code}")


@shared_task(name="knowledge.poll_sources", ignore_result=True)
def poll_sources() -> int:
    """Beat: look at the watched folders and feeds that are due; the documents queued."""
    return sources.poll_due()


@shared_task(name="media_learning.reap_stuck")
def reap_stuck() -> list[dict]:
    """Periodic (Celery beat): re-enqueue or fail documents whose task was lost."""
    return [action.as_dict() for action in reaper.reap()]


@shared_task(name="media_learning.purge_originals")
def purge_originals() -> int:
    """Periodic (Celery beat, when MEDIA_RETENTION_DAYS is set): delete old originals."""
    return retention.purge_originals(settings.MEDIA_RETENTION_DAYS) if settings.MEDIA_RETENTION_DAYS else 0
