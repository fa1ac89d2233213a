"""Uploaded originals: deleted with their document, and optionally after MEDIA_RETENTION_DAYS
for finished documents (the transcript, paragraphs and search stay)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import Signal, receiver
from django.utils import timezone

from knowledge.models import Document, Status

log = logging.getLogger(__name__)

# Sent (document_id=) when a document's original is purged; what was made from it goes too
# (media_learning.renditions).
original_deleted = Signal()


def _delete_file(storage: Any, name: str) -> None:
    try:
        storage.delete(name)
    except OSError as exc:
        log.warning("could not delete %s: %s", name, exc)


@receiver(post_delete, sender=Document)
def delete_original(sender: type[Document], instance: Document, **kwargs: Any) -> None:
    """Remove the uploaded file once the deletion has committed."""
    if instance.file:
        storage, name = instance.file.storage, instance.file.name
        transaction.on_commit(lambda: _delete_file(storage, name))


def purge_originals(days: float) -> int:
    """Delete the original files of SUCCESS documents finished more than ``days`` ago (failed and
    running ones keep theirs, to be reprocessed)."""
    cut = timezone.now() - timedelta(days=days)
    purged = 0
    for document in Document.objects.filter(status=Status.SUCCESS, updated_at__lt=cut).exclude(file=""):
        _delete_file(document.file.storage, document.file.name)
        Document.objects.filter(pk=document.pk).update(file="")
        original_deleted.send(sender=Document, document_id=document.pk)
        purged += 1
    return purged
