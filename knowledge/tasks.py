"""Celery tasks of the knowledge app (thin: the work is in knowledge.webhooks and knowledge.sources)."""

from __future__ import annotations

import logging
import uuid

from celery import shared_task
from django.conf import settings

from knowledge import sources, webhooks

log = logging.getLogger(__name__)


@shared_task(bind=True, ignore_result=True, acks_late=True)
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
    deliver_webhook.apply_async(
        kwargs={"document_id": document_id, "status": status, "attempt": attempt + 1, "webhook_id": webhook_id},
        countdown=delay,
    )


@shared_task(name="knowledge.poll_sources", ignore_result=True)
def poll_sources() -> int:
    """Beat: look at the watched folders and feeds that are due; the documents queued."""
    return sources.poll_due()
