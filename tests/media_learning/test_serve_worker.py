"""The worker as `serve` (make run) starts it: one process, a threads pool of two, one copy of
each model with a CTranslate2 replica per thread. It warms up before it takes work, says so, and
transcribes two documents at the same time, English and Mandarin alike."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from knowledge.ingest import wait_until_finished
from knowledge.models import ProcessingRun, Status
from media_learning.management.commands.serve import worker_env
from settings.celery import app
from tests.conftest import fixture_path
from tests.processes import Worker, manage, process_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_serve_worker_warms_up_then_transcribes_two_documents_at_once(speech_models, tmp_path):
    env = worker_env(process_env(f"threads-{os.getpid()}", STT_WARMUP="1"), 2)
    assert env["STT_NUM_WORKERS"] == "2" and int(env["STT_CPU_THREADS"]) == max(1, (os.cpu_count() or 1) // 2)
    assert env["MALLOC_ARENA_MAX"] == "2" and env["MALLOC_MMAP_THRESHOLD_"] == "8388608"
    assert env["STT_BATCH_SIZE"] == "2"  # side by side, smaller batches (same speed, less memory)
    assert worker_env({**env, "MALLOC_ARENA_MAX": "4"}, 2)["MALLOC_ARENA_MAX"] == "4"  # the environment wins
    worker = Worker(env, "threads", tmp_path, pool="threads", concurrency=2)
    try:
        deadline = time.monotonic() + 180
        while "warmed up speech model auto" not in worker.log.read_text():
            assert worker.proc.poll() is None and time.monotonic() < deadline, worker.log.read_text()[-3000:]
            time.sleep(0.5)
        while not app.control.ping(destination=[worker.hostname], timeout=1.0):
            assert time.monotonic() < deadline, worker.log.read_text()[-3000:]
        (loaded,) = app.control.broadcast("stt_loaded", destination=[worker.hostname], reply=True, timeout=5)
        environ = Path(f"/proc/{worker.proc.pid}/environ")
        if environ.exists():  # Linux: the allocator settings reach the worker process itself
            assert b"MALLOC_ARENA_MAX=2" in environ.read_bytes().split(b"\0")
        # one command queues both (two commands, each starting Django, could leave the first
        # document finished before the second is queued on a busy machine)
        media = [str(fixture_path("lecture_60s_en.mp3")), str(fixture_path("zh/zh_shared_meeting.wav"))]
        out = manage(env, "ingest", *media, "--knowledge", "threads", "--option", "diarize=off")
        ids = [int(pk) for pk in re.findall(r"queued document (\d+)", out)]
        assert len(ids) == 2, out
        english, chinese = wait_until_finished(ids, timeout=240)
    finally:
        worker.stop()

    state = loaded[worker.hostname]
    assert state["pool"] == "thread" and state["warm"] is True
    assert set(state["speech_models"]) >= {"bundled:tiny.en", "bundled:base"}  # what auto uses, loaded once
    assert english.status == Status.SUCCESS and chinese.status == Status.SUCCESS, (english.error, chinese.error)
    assert (english.detected_language, chinese.detected_language) == ("en", "zh")
    chinese_text = "".join(chinese.paragraphs.values_list("content", flat=True))
    english_text = " ".join(english.paragraphs.values_list("content", flat=True)).lower()
    assert re.search(r"[\u4e00-\u9fff]{20}", chinese_text) and len(english_text.split()) > 100
    first, second = (ProcessingRun.objects.get(document=doc) for doc in (english, chinese))
    assert second.started_at < first.finished_at and first.started_at < second.finished_at  # at the same time
    assert first.worker.split(" pid ")[1] == second.worker.split(" pid ")[1]  # in the one process
