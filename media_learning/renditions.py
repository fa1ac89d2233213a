"""A document's audio track as WAV or MP3 at a chosen sample rate (``GET .../audio/``), made once
by a worker and kept, never in a web thread: ``MEDIA_ROOT/renditions/<document>/<sha256>-<rate>.<fmt>``.

The web request finds a finished rendition and serves it, finds the reason a render failed, or
asks for one (once: a lock in Django's cache while it is queued or running) and answers 202. A
render stops with a reason past AUDIO_EXPORT_MAX_BYTES of output or MAX_MEDIA_DURATION of decoded
audio (a file may declare less than it holds). Renditions go with their document, and with its
original when the retention period purges it."""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from knowledge.models import Document
from knowledge.retention import original_deleted
from media_learning import dispatch
from media_learning.pipeline.decode import MediaError
from media_learning.pipeline.extract import extract_audio
from media_learning.pipeline.media_file import local_media

log = logging.getLogger(__name__)

LOCK_SECONDS = 900  # a render queued or running; long enough for hours of audio


def _folder(document_id: int) -> Path:
    return Path(settings.MEDIA_ROOT) / "renditions" / str(document_id)


def path_for(document: Document, fmt: str, rate: int) -> Path:
    """Named by the original's content hash: a new original (a URL fetched again) is a new name."""
    return _folder(document.pk) / f"{document.sha256[:16] or 'unhashed'}-{rate}.{fmt}"


def _error_path(path: Path) -> Path:
    return path.with_name(path.name + ".error")


@dataclass
class Rendition:
    path: Path
    ready: bool
    error: str  # why the render failed ('' when it did not)


def find(document: Document, fmt: str, rate: int) -> Rendition:
    path = path_for(document, fmt, rate)
    error = _error_path(path)
    return Rendition(path, path.exists(), error.read_text().strip() if error.exists() else "")


def _lock_key(path: Path) -> str:
    return f"render:{path.parent.name}:{path.name}"


def in_progress(document: Document, fmt: str, rate: int) -> bool:
    """A render of this rendition is queued or running."""
    return cache.get(_lock_key(path_for(document, fmt, rate))) is not None


def request_render(document: Document, fmt: str, rate: int) -> bool:
    """Queue the render unless it is queued or running already; True when this call queued it."""
    key = _lock_key(path_for(document, fmt, rate))
    if not cache.add(key, 1, timeout=LOCK_SECONDS):
        return False
    if not dispatch.render_audio(document.pk, fmt, rate):  # a broker outage: the next request asks again
        cache.delete(key)
        return False
    return True


def render(document_id: int, fmt: str, rate: int) -> str:
    """The ``render_audio`` task: write the rendition, or the reason it cannot be made."""
    document = Document.objects.filter(pk=document_id).first()
    if document is None or not document.file:
        return "skipped: no such document or no original"
    target = path_for(document, fmt, rate)
    try:
        if target.exists():
            return "ready"
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = target.with_name(f"{target.name}.{uuid.uuid4().hex}.part")
        try:
            with (
                local_media(document.file) as source,
                open(os.open(partial, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as out,
            ):
                extract_audio(source, out, fmt, rate, max_bytes=settings.AUDIO_EXPORT_MAX_BYTES,
                              max_seconds=settings.MAX_MEDIA_DURATION)  # fmt: skip
            os.replace(partial, target)
        except MediaError as exc:
            _error_path(target).write_text(str(exc))
            return f"failed: {exc}"
        finally:
            partial.unlink(missing_ok=True)
        return "ready"
    finally:
        cache.delete(_lock_key(target))


def _remove(document_id: int) -> None:
    shutil.rmtree(_folder(document_id), ignore_errors=True)


@receiver(post_delete, sender=Document)
def _drop_with_document(sender: type[Document], instance: Document, **kwargs: Any) -> None:
    transaction.on_commit(lambda: _remove(instance.pk))


@receiver(original_deleted)
def _drop_with_original(sender: type[Document], document_id: int, **kwargs: Any) -> None:
    _remove(document_id)
