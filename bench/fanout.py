"""Fan-out speed-up: a 20-minute generated recording through the full pipeline with one worker,
then with two (each a prefork worker with one process and ``STT_CPU_THREADS=1``), each run a new
document so nothing is resumed. segment_duration 120 s gives ten segments to share. The time is
from upload to SUCCESS. Last line: ``speedup=S`` (one-worker time / two-worker time); target at
least 1.6 on a 2-core machine.

    .venv/bin/python bench/fanout.py [--minutes 20] [--segment 120]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common


def start_workers(count: int) -> list[subprocess.Popen]:
    from settings.celery import app

    env = {**os.environ, "STT_WARMUP": "1", "LOG_LEVEL": "WARNING", "STT_CPU_THREADS": "1"}
    names = [f"{common.QUEUE}-{i}@{os.uname().nodename}" for i in range(count)]
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "settings",
                "--quiet",
                "worker",
                "-Q",
                common.queues(),
                "--concurrency",
                "1",
                "--loglevel",
                "WARNING",
                "--hostname",
                name,
            ],
            cwd=common.ROOT,
            env=env,
        )  # fmt: skip
        for name in names
    ]
    deadline = time.monotonic() + 180
    while len(app.control.ping(destination=names, timeout=1.0) or []) < count:
        if time.monotonic() > deadline:
            raise SystemExit("bench workers did not start")
    return workers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--segment", type=int, default=120)
    args = parser.parse_args()
    os.environ["STT_CPU_THREADS"] = "1"
    common.setup_django()
    sys.path.insert(0, str(common.ROOT))
    from knowledge.models import Document, KnowledgeBase
    from stt_models.registry import resolve_speech_model
    from tests.fixtures.long_media import build_long_speech

    folder = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    media = folder / "talk.mp3"
    seconds, _ = build_long_speech(media, minutes=args.minutes)
    print(f"generated {seconds / 60:.1f} min of speech", file=sys.stderr)
    # a new transcription each time, not the reuse of the last one
    kb = KnowledgeBase.objects.create(name=f"bench-fanout-{os.getpid()}", duplicates="again")
    model = resolve_speech_model("bundled-tiny-en")
    times = {}
    try:
        for count in (1, 2):
            workers = start_workers(count)
            try:
                elapsed = common.ingest_and_wait(kb, media, model, {"segment_duration": args.segment})
            finally:
                for worker in workers:
                    common.stop_worker(worker)
            doc = Document.objects.filter(knowledge_base=kb).latest("id")
            workers_used = set(doc.transcript_chunks.values_list("worker", flat=True))
            print(f"{count} worker(s): {elapsed:.1f} s to SUCCESS ({len(workers_used)} took segments)",
                  file=sys.stderr)  # fmt: skip
            times[count] = elapsed
    finally:
        common.clean_up(kb)
        media.unlink(missing_ok=True)
        folder.rmdir()
    print(f"one worker {times[1]:.1f} s, two workers {times[2]:.1f} s")
    print(f"speedup={times[1] / times[2]:.2f}")


if __name__ == "__main__":
    main()
