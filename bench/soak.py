"""Soak: 50 concurrent uploads of short clips while the worker is SIGKILLed and restarted twice.

A real worker process (prefork, two children, warm tiny model) takes the uploads from a
private queue. Ten threads upload the 50 clips at once. When a fifth of the documents have
finished the worker's whole process tree is killed with SIGKILL and a new worker is started;
the same happens again at three fifths. The reaper runs every few seconds, as Celery beat runs
it in production (with short thresholds so the bench does not wait for minutes).

At the end (every document terminal, or the deadline):
  lost      uploads that left no document, or SUCCESS documents without their paragraphs
  stuck     documents still PENDING, STARTED or REVOKE at the deadline
  failed    FAILURE documents (none expected: every clip is valid)
  succeeded SUCCESS documents with paragraphs
Last line: ``lost=N stuck=N failed=N succeeded=N``; target lost=0 stuck=0.

    .venv/bin/python bench/soak.py [--uploads 50] [--deadline 900]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import common

CLIPS = ("jupiter_en.mp3", "bread_en.mp4", "lecture_60s_en.mp3")
FAST = {"HEARTBEAT_SECONDS": "1", "HEARTBEAT_LEASE": "3", "STT_WARMUP": "1", "LOG_LEVEL": "WARNING"}


def start_worker(generation: int) -> subprocess.Popen:
    env = {**os.environ, **FAST}
    hostname = f"soak{generation}-{common.QUEUE}@%h"
    cmd = [sys.executable, "-m", "celery", "-A", "settings", "--quiet", "worker", "-Q", common.queues(),
           "--concurrency", "2", "--loglevel", "WARNING", "--hostname", hostname]  # fmt: skip
    return subprocess.Popen(cmd, cwd=common.ROOT, env=env, start_new_session=True)


def kill(worker: subprocess.Popen) -> None:
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)


def upload(kb, model, path: Path) -> int | None:
    from django.core.files import File
    from django.db import connection

    from knowledge.ingest import create_documents

    try:
        with open(path, "rb") as fh:
            (doc,) = create_documents(kb, [File(fh, name=path.name)], stt_model=model)
        return doc.pk
    except Exception as exc:  # noqa: BLE001 - counted as lost
        print(f"upload failed: {exc}", file=sys.stderr)
        return None
    finally:
        connection.close()


def reaper_loop(stop: threading.Event) -> None:
    from django.db import connection

    from knowledge.reaper import reap

    while not stop.wait(3):
        for item in reap(started_after=5, pending_after=20):
            print(f"reaper: document {item.document_id} {item.action}: {item.reason}", file=sys.stderr)
    connection.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--uploads", type=int, default=50)
    parser.add_argument("--deadline", type=float, default=900)
    args = parser.parse_args()
    os.environ.update(FAST)
    common.setup_django()
    from knowledge.models import Document, KnowledgeBase, Status
    from stt_models.registry import resolve_speech_model

    model = resolve_speech_model("bundled-tiny-en")
    # a new transcription each time, not the reuse of the last one
    kb, _ = KnowledgeBase.objects.get_or_create(name=f"bench-soak-{os.getpid()}", defaults={"duplicates": "again"})
    fixtures = common.ROOT / "tests" / "fixtures"
    paths = [fixtures / CLIPS[i % len(CLIPS)] for i in range(args.uploads)]
    worker = start_worker(0)
    stop = threading.Event()
    reaper = threading.Thread(target=reaper_loop, args=(stop,), daemon=True)
    reaper.start()
    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=10) as pool:
            ids = list(pool.map(lambda p: upload(kb, model, p), paths))
        created = [i for i in ids if i is not None]
        print(f"uploaded {len(created)} of {len(paths)} in {time.monotonic() - started:.1f}s", file=sys.stderr)
        kills = [0.2, 0.6]
        terminal = (Status.SUCCESS, Status.FAILURE, Status.REVOKED)
        while time.monotonic() - started < args.deadline:
            done = Document.objects.filter(pk__in=created, status__in=terminal).count()
            if kills and done >= kills[0] * len(created):
                kills.pop(0)
                kill(worker)
                print(f"killed the worker with {done} documents done; starting another", file=sys.stderr)
                worker = start_worker(2 - len(kills))
            if done == len(created):
                break
            time.sleep(0.5)
    finally:
        stop.set()
        reaper.join(timeout=30)
        kill(worker)

    docs = list(Document.objects.with_counts().filter(pk__in=created))
    succeeded = sum(d.status == Status.SUCCESS and d.paragraph_count > 0 for d in docs)
    lost = (len(paths) - len(docs)) + sum(d.status == Status.SUCCESS and d.paragraph_count == 0 for d in docs)
    stuck = sum(d.status in (Status.PENDING, Status.STARTED, Status.REVOKE) for d in docs)
    failed = sum(d.status == Status.FAILURE for d in docs)
    for doc in docs:
        if doc.status == Status.FAILURE:
            print(f"document {doc.pk} failed: {doc.error}", file=sys.stderr)
    from knowledge.models import ProcessingRun

    runs = ProcessingRun.objects.filter(document__in=docs)
    print(f"{len(docs)} documents in {time.monotonic() - started:.0f}s; runs: {runs.count()} "
          f"({runs.filter(outcome='LOST').count()} lost to the kills)", file=sys.stderr)  # fmt: skip
    common.clean_up(kb)
    print(f"lost={lost} stuck={stuck} failed={failed} succeeded={succeeded}")


if __name__ == "__main__":
    main()
