"""Webhooks: when a document reaches SUCCESS, FAILURE or REVOKED, POST its outcome to the upload's
``callback_url`` (else its knowledge base's), signed with HMAC-SHA256 over the exact body using
the knowledge base's secret (header ``X-Signature: sha256=<hex>``). Failed deliveries are retried
with backoff, WEBHOOK_MAX_TRIES in all; every try is a ``WebhookDelivery`` row. The target must be
a public address unless URL_FETCH_ALLOWLIST permits it (the same guard as URL ingestion)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any

import httpx
from django.db import transaction
from django.utils import timezone

from knowledge.fetch import FetchError, check_url
from knowledge.models import Document, WebhookDelivery

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Signature"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def target_url(document: Document) -> str:
    return document.callback_url or document.knowledge_base.callback_url


def payload(document: Document) -> dict[str, Any]:
    completed = document.status_meta.get(document.status) or timezone.now().isoformat()
    return {
        "event": "document.finished",
        "document_id": document.pk,
        "knowledge_base_id": document.knowledge_base_id,
        "name": document.name,
        "status": document.status,
        "completed_at": completed,
        "error_message": document.error,
        "paragraph_count": document.paragraphs.count(),
        "duration": document.duration,
        "language": document.language,
    }


def schedule(document_id: int, status: str) -> None:
    """After commit, queue the delivery when the document has a webhook (called by the status machine)."""

    def send() -> None:
        if (
            not Document.objects.filter(pk=document_id)
            .exclude(callback_url="", knowledge_base__callback_url="")
            .exists()
        ):
            return
        from knowledge.tasks import deliver_webhook

        try:
            deliver_webhook.apply_async(kwargs={"document_id": document_id, "status": status, "attempt": 1})
        except Exception as exc:  # noqa: BLE001 - a broker outage must not break the status change
            log.warning("could not queue the webhook of document %s: %s", document_id, exc)

    transaction.on_commit(send)


def deliver(document_id: int, status: str, attempt: int) -> WebhookDelivery | None:
    """POST once and record it. None when the document is gone or has no webhook any more."""
    document = Document.objects.select_related("knowledge_base").filter(pk=document_id).first()
    if document is None or not (url := target_url(document)):
        return None
    body_data = payload(document) | {"status": status}
    body = json.dumps(body_data, separators=(",", ":"), sort_keys=True).encode()
    delivery = WebhookDelivery(document=document, url=url, status=status, attempt=attempt, payload=body_data)
    started = time.monotonic()
    try:
        check_url(url, allow_credentials=True)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(document.knowledge_base.webhook_secret, body),
            "User-Agent": "media-knowledge-webhook/1",
        }
        with httpx.Client(timeout=10.0, follow_redirects=False, trust_env=False) as client:
            response = client.post(url, content=body, headers=headers)
        delivery.status_code = response.status_code
        delivery.response_excerpt = response.text[:500]
        delivery.delivered = response.is_success
    except (httpx.HTTPError, FetchError) as exc:
        delivery.error = f"{type(exc).__name__}: {exc}"[:500]
    delivery.seconds = round(time.monotonic() - started, 3)
    delivery.save()
    return delivery
