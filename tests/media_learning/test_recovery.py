"""Nothing lost, nothing stuck: real worker processes killed with SIGKILL, a Redis broker that
comes back empty, and two workers racing for one document. Everything runs as separate
processes (workers, `manage.py ingest`, `manage.py reap_stuck`) on the real database."""

from __future__ import annotations

import os
import re
import time

import pytest
from django.utils import timezone

from knowledge.ingest import wait_until_finished
from knowledge.models import Document, ProcessingRun, RunOutcome, Status
from media_learning.models import TranscriptChunk
from tests.conftest import fixture_path
from tests.fixtures.long_media import build_long_speech
from tests.processes import RedisServer, Worker, manage, process_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FAST_LEASE = {"HEARTBEAT_SECONDS": "1", "HEARTBEAT_LEASE": "3"}


def ingest(env: dict[str, str], *args: str) -> list[int]:
    out = manage(env, "ingest", *args, "--stt-model", "bundled-tiny-en")
    return [int(n) for n in re.findall(r"queued document (\d+)", out)]


def wait_for(condition, timeout: float, what: str, poll: float = 0.1):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(poll)
    return value


def reap_until(env: dict[str, str], *args: str, expect: str, timeout: float = 60) -> str:
    """Run the reaper the way beat would, until it reports ``expect``."""
    deadline = time.monotonic() + timeout
    while True:
        out = manage(env, "reap_stuck", *args)
        if expect in out:
            return out
        assert time.monotonic() < deadline, out
        time.sleep(1)


def test_worker_killed_mid_file_is_reaped_and_resumed_to_success(speech_models, tmp_path):
    env = process_env(f"crash-{os.getpid()}", **FAST_LEASE)
    media = tmp_path / "talk.mp3"
    build_long_speech(media, minutes=3)
    (doc_id,) = ingest(env, str(media), "--knowledge", "crash", "--option", "segment_duration=40")
    first = Worker(env, "first", tmp_path)
    second = None
    try:
        # kill it mid-transcription, once at least one segment is saved
        wait_for(lambda: TranscriptChunk.objects.filter(document_id=doc_id).exists(), 120, "a first segment")
        beats = []
        for _ in range(3):
            beats.append(Document.objects.get(pk=doc_id).heartbeat_at)
            time.sleep(1.1)
        first.kill()
        killed_at = timezone.now()
        saved_before_kill = set(TranscriptChunk.objects.filter(document_id=doc_id).values_list("index", "created_at"))
        doc = Document.objects.get(pk=doc_id)
        assert doc.status == Status.STARTED and 0 < doc.progress < 0.9
        assert len(set(beats)) == 3  # the heartbeat moved every second while the worker lived

        second = Worker(env, "second", tmp_path)
        out = reap_until(env, "--started-after", "3", expect="requeued")
        assert f"document {doc_id} requeued: no heartbeat for" in out and "transcribing" in out
        (doc,) = wait_until_finished([doc_id], timeout=180)
    finally:
        first.stop()
        if second is not None:
            second.stop()

    assert doc.status == Status.SUCCESS and doc.paragraph_count >= 3, doc.error
    assert doc.progress == 1.0 and doc.duration == pytest.approx(180, abs=15)
    runs = list(ProcessingRun.objects.filter(document_id=doc_id).order_by("attempt"))
    assert [r.outcome for r in runs] == [RunOutcome.LOST, RunOutcome.SUCCESS]
    assert runs[0].worker.startswith(first.hostname) and runs[1].worker.startswith(second.hostname)
    assert runs[0].finished_at >= killed_at and "no heartbeat" in runs[0].error
    assert set(runs[1].timings) == {"detect", "transcribe", "diarize", "index"}  # 3 min: speakers are looked for
    assert f"doc={doc_id} attempt=2: done in" in second.log.read_text()  # log lines name document and attempt
    # the retry resumed: the segments saved before the kill were kept, not transcribed again
    after = set(TranscriptChunk.objects.filter(document_id=doc_id).values_list("index", "created_at"))
    assert saved_before_kill and saved_before_kill <= after and len(after) > len(saved_before_kill)


def test_redis_restarted_empty_mid_queue_the_reaper_requeues_what_was_lost(speech_models, tmp_path):
    redis = RedisServer(tmp_path)
    env = process_env(f"lost-{os.getpid()}", CELERY_BROKER_URL=redis.url, **FAST_LEASE)
    files = [str(fixture_path(name)) for name in ("lecture_60s_en.mp3", "jupiter_en.mp3", "bread_en.mp4")]
    ids = ingest(env, *files, "--knowledge", "lost")
    worker = Worker(env, "survivor", tmp_path)
    try:
        wait_for(lambda: Document.objects.filter(pk=ids[0], status=Status.STARTED).exists(), 120, "the first start")
        redis.restart_empty()  # the queued messages are gone; the worker reconnects to an empty broker
        wait_for(lambda: Document.objects.filter(pk=ids[0], status=Status.SUCCESS).exists(), 120, "the first file")
        time.sleep(3)
        assert set(Document.objects.filter(pk__in=ids[1:]).values_list("status", flat=True)) == {Status.PENDING}

        out = reap_until(env, "--pending-after", "0", expect="requeued")
        docs = wait_until_finished(ids, timeout=180)
    finally:
        worker.stop()
        redis.kill()

    for doc_id in ids[1:]:
        assert f"document {doc_id} requeued: queued" in out and "in no queue and on no worker" in out
    assert [d.status for d in docs] == [Status.SUCCESS] * 3, [d.error for d in docs]
    assert all(d.paragraph_count >= 1 for d in docs)


def test_two_workers_racing_for_one_document_process_it_once(speech_models, tmp_path):
    from media_learning.tasks import process_document

    env = process_env(f"race-{os.getpid()}", **FAST_LEASE)
    (doc_id,) = ingest(env, str(fixture_path("lecture_60s_en.mp3")), "--knowledge", "race")
    task_id = Document.objects.get(pk=doc_id).task_id
    for duplicate in (task_id, task_id, "another-task-id"):  # redeliveries and a stray second enqueue
        process_document.apply_async(
            kwargs={"document_id": doc_id}, task_id=duplicate, queue=f"{env['CELERY_QUEUE_PREFIX']}transcribe"
        )
    workers = [Worker(env, "racer-a", tmp_path), Worker(env, "racer-b", tmp_path)]
    try:
        (doc,) = wait_until_finished([doc_id], timeout=180)
        time.sleep(6)  # let the copies that waited out the lease try, and stand down
    finally:
        for worker in workers:
            worker.stop()

    assert doc.status == Status.SUCCESS
    runs = list(ProcessingRun.objects.filter(document_id=doc_id))
    assert [r.outcome for r in runs] == [RunOutcome.SUCCESS]
    paragraphs = list(doc.paragraphs.order_by("position").values_list("position", flat=True))
    assert paragraphs == list(range(len(paragraphs))) and Document.objects.get(pk=doc_id).status == Status.SUCCESS
    logs = "".join(w.log.read_text() for w in workers)
    assert logs.count("not claimable") >= 3


def test_upload_while_the_broker_is_down_is_kept_and_queued_by_the_reaper(speech_models, celery_worker):
    from django.conf import settings

    from knowledge.reaper import reap

    down = process_env(settings.CELERY_QUEUE_PREFIX, CELERY_BROKER_URL="redis://127.0.0.1:1/0")
    (doc_id,) = ingest(down, str(fixture_path("jupiter_en.mp3")), "--knowledge", "no broker")
    assert Document.objects.get(pk=doc_id).status == Status.PENDING

    reaped = reap(pending_after=0)  # this process reaches the broker again
    (doc,) = wait_until_finished([doc_id], timeout=120)

    assert [(r.document_id, r.action) for r in reaped] == [(doc_id, "requeued")]
    assert doc.status == Status.SUCCESS and doc.paragraph_count >= 1
