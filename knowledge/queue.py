"""The one place where ``knowledge`` hands work to ``media_learning``."""

from __future__ import annotations

from django.db import transaction


def enqueue_processing(document_id: int, task_id: str) -> None:
    """Send the processing task once the current transaction commits."""

    def send() -> None:
        from media_learning.tasks import process_document

        process_document.apply_async(kwargs={"document_id": document_id}, task_id=task_id)

    transaction.on_commit(send)
