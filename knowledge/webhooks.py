"""Webhooks: when a document reaches SUCCESS, FAILURE or REVOKED, POST its outcome to the upload's
``callback_url`` (else its knowledge base's). Failed deliveries are retried with backoff,
WEBHOOK_MAX_TRIES in all; every try is a ``WebhookDelivery`` row.

Signature: ``X-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`` with the knowledge
base's secret, where ``X-Webhook-Timestamp`` is the Unix time of this try and ``X-Webhook-Id``
names the event (the same on every retry; also ``webhook_id`` in the signed body). A receiver
checks the signature, refuses timestamps more than a few minutes old and ids it has seen, so a
captured request cannot be replayed (docs/api.md shows the check).

The target must be a public address unless URL_FETCH_ALLOWLIST permits it, and the POST goes to
the address that was checked (``core.outbound``): a second DNS answer cannot move it."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any

import httpx
from django.utils import timezone

from core import outbound
from knowledge.models import Document, WebhookDelivery

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Webhook-Timestamp"
ID_HEADER = "X-Webhook-Id"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature of one try: HMAC-SHA256 over ``<timestamp>.<body>``."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


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


def wanted(document_id: int) -> bool:
    """Whether the document (or its knowledge base) has a webhook to deliver to (the dispatcher
    asks when the document finishes, media_learning/dispatch.py)."""
    return Document.objects.filter(pk=document_id).exclude(callback_url="", knowledge_base__callback_url="").exists()


def deliver(document_id: int, status: str, attempt: int, webhook_id: str) -> WebhookDelivery | None:
    """POST once and record it. None when the document is gone or has no webhook any more."""
    document = Document.objects.select_related("knowledge_base").filter(pk=document_id).first()
    if document is None or not (url := target_url(document)):
        return None
    body_data = payload(document) | {"status": status, "webhook_id": webhook_id}
    body = json.dumps(body_data, separators=(",", ":"), sort_keys=True).encode()
    delivery = WebhookDelivery(document=document, url=url, status=status, attempt=attempt, payload=body_data)
    started = time.monotonic()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(document.knowledge_base.webhook_secret, timestamp, body),
        TIMESTAMP_HEADER: timestamp,
        ID_HEADER: webhook_id,
        "User-Agent": "media-knowledge-webhook/1",
    }
    try:
        with outbound.guarded_client(allow_credentials=True, timeout=10.0, follow_redirects=False) as client:
            response = client.post(url, content=body, headers=headers)
        delivery.status_code = response.status_code
        delivery.response_excerpt = response.text[:500]
        delivery.delivered = response.is_success
    except (httpx.HTTPError, outbound.AddressRefused) as exc:
        delivery.error = f"{type(exc).__name__}: {exc}"[:500]
    delivery.seconds = round(time.monotonic() - started, 3)
    delivery.save()
    return delivery
