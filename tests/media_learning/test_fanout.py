"""Long media fans out: its segments are transcribed by every free worker, merged in order;
cancelling stops it and leaves nothing behind."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from django.conf import settings

from knowledge import transitions
from knowledge.ingest import wait_until_finished
from knowledge.models import Document, Status
from media_learning.models import SegmentJob, TranscriptChunk
from tests.conftest import word_error_rate
from tests.factories import DocumentFactory
from tests.fixtures.long_media import build_long_speech
from tests.processes import Worker, manage, process_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ONE_THREAD = {"STT_CPU_THREADS": "1"}


def ingest(env: dict[str, str], path: Path, *options: str) -> int:
    out = manage(env, "ingest", str(path), "--knowledge", "fanout", "--stt-model", "bundled-tiny-en",
                 "--option", "segment_duration=60", *options)  # fmt: skip
    return int(re.search(r"queued document (\d+)", out).group(1))


def wait_ready(workers: list[Worker], timeout: float = 120) -> None:
    from settings.celery import app

    names = [w.hostname for w in workers]
    deadline = time.monotonic() + timeout
    while len(app.control.ping(destination=names, timeout=1.0) or []) < len(names):
        assert time.monotonic() < deadline, "the workers did not start"


def test_long_media_segments_are_shared_by_two_workers_and_merged_in_order(speech_models, tmp_path):
    env = process_env(f"fan-{os.getpid()}", **ONE_THREAD)
    media = tmp_path / "four-minutes.mp3"
    duration, reference = build_long_speech(media, minutes=4)
    workers = [Worker(env, "fan-a", tmp_path), Worker(env, "fan-b", tmp_path)]
    try:
        wait_ready(workers)
        doc_id = ingest(env, media)
        (doc,) = wait_until_finished([doc_id], timeout=240)
    finally:
        for worker in workers:
            worker.stop()

    chunks = list(TranscriptChunk.objects.filter(document_id=doc_id).order_by("index"))
    by_worker = {chunk.worker.split(" pid ")[0] for chunk in chunks}
    assert doc.status == Status.SUCCESS, doc.error
    assert len(chunks) >= 4 and by_worker == {w.hostname for w in workers}  # both took segments
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert all(a.end == pytest.approx(b.start, abs=1e-3) for a, b in zip(chunks, chunks[1:], strict=False))
    text = " ".join(p.content for p in doc.paragraphs.order_by("position"))
    starts = list(doc.paragraphs.order_by("position").values_list("start", flat=True))
    assert starts == sorted(starts) and doc.duration == pytest.approx(duration, abs=2)
    assert word_error_rate(reference, text) < 0.2
    assert not SegmentJob.objects.filter(document_id=doc_id).exists()
    assert not (Path(settings.MEDIA_ROOT) / "segments" / str(doc_id)).exists()


def test_cancel_during_fanout_stops_and_removes_waiting_segments(speech_models, tmp_path):
    env = process_env(f"fancancel-{os.getpid()}", **ONE_THREAD)
    media = tmp_path / "five-minutes.mp3"
    build_long_speech(media, minutes=5)
    worker = Worker(env, "fan-solo", tmp_path)
    try:
        doc_id = ingest(env, media)
        deadline = time.monotonic() + 120
        while not TranscriptChunk.objects.filter(document_id=doc_id).exists():  # under way, segments staged
            assert time.monotonic() < deadline, "no segment was transcribed"
            time.sleep(0.2)
        assert SegmentJob.objects.filter(document_id=doc_id).exists()
        transitions.cancel(doc_id)
        (doc,) = wait_until_finished([doc_id], timeout=120)
    finally:
        worker.stop()

    assert doc.status == Status.REVOKED and Document.objects.get(pk=doc_id).paragraphs.count() == 0
    assert not SegmentJob.objects.filter(document_id=doc_id).exists()
    assert not (Path(settings.MEDIA_ROOT) / "segments" / str(doc_id)).exists()


def test_staged_segments_of_a_deleted_document_are_removed(speech_models, tmp_path):
    from django.core.files.base import ContentFile

    from knowledge.models import KnowledgeBase
    from media_learning.pipeline import fanout

    kb = KnowledgeBase.objects.create(name="gone")
    kept, deleted = (DocumentFactory(knowledge_base=kb, name=n, file=ContentFile(b"x", n))
                     for n in ("kept.mp3", "deleted.mp3"))  # fmt: skip
    folders = [Path(settings.MEDIA_ROOT) / "segments" / str(d.pk) for d in (kept, deleted)]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "0.npy").write_bytes(b"samples")
    deleted_id = deleted.pk
    deleted.delete()

    assert not folders[1].exists()  # removed when the deletion committed, with no run involved
    assert fanout.forget_if_deleted(deleted_id) is True and not folders[1].exists()
    assert fanout.forget_if_deleted(kept.pk) is False and folders[0].exists()  # another run may be using them
    fanout.cleanup(kept.pk)
