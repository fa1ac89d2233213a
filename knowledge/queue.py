"""The one place where ``knowledge`` hands work to ``media_learning``."""

from __future__ import annotations

import logging

from django.db import transaction

log = logging.getLogger(__name__)


def enqueue_processing(document_id: int, task_id: str) -> None:
    """Send the processing task once the current transaction commits. If the broker cannot be
    reached (after Celery's own publish retries), the document stays PENDING in the database and
    the reaper queues it once the broker is back: an upload never fails for it."""

    def send() -> None:
        from media_learning.tasks import process_document

        try:
            process_document.apply_async(kwargs={"document_id": document_id}, task_id=task_id)
        except Exception as exc:  # noqa: BLE001 - any broker failure; the database keeps the document
            log.warning("could not queue document %s (%s: %s); the reaper will queue it when the broker is back",
                        document_id, type(exc).__name__, exc)  # fmt: skip

    transaction.on_commit(send)
