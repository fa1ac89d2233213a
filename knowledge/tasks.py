"""Celery tasks of the knowledge app (thin: the work is in knowledge.webhooks, sources, reaper and
retention). The housekeeping tasks keep the names they were registered under (media_learning.*),
so beat schedules and queued messages still find them."""

from __future__ import annotations

import logging
import uuid

from celery import shared_task
from django.conf import settings

from knowledge import reaper, retention, sources, webhooks

log = logging.getLogger(__name__)


@shared_task(bind=True, ignore_result=True, acks_late=True, max_retries=None)  # WEBHOOK_MAX_TRIES bounds it
def deliver_webhook(self, *, document_id: int, status: str, attempt: int, webhook_id: str = "") -> None:  # noqa: ANN001
    webhook_id = webhook_id or str(uuid.uuid4())  # a message queued before ids existed
    delivery = webhooks.deliver(document_id, status, attempt, webhook_id)
    if delivery is None or delivery.delivered:
        return
    if attempt >= settings.WEBHOOK_MAX_TRIES:
        log.warning("webhook of document %s failed %s times; giving up (%s)", document_id, attempt,
                    delivery.error or delivery.status_code)  # fmt: skip
        return
    delay = settings.WEBHOOK_RETRY_BACKOFF * 2 ** (attempt - 1)
    kwargs = {"document_id": document_id, "status": status, "attempt": attempt + 1, "webhook_id": webhook_id}
    raise self.retry(kwargs=kwargs, countdown=delay, max_retries=None)  # Celery's own retry, on its queue


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
