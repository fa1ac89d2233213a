"""Pipeline overhead: the full ingest path versus bare faster-whisper on the same ~60 s file.

The full path is: store the upload, enqueue through Redis, a real Celery worker process (warm,
as in production) claims the document, decodes, transcribes, splits, embeds, indexes in
PostgreSQL and marks SUCCESS; the wall time runs until SUCCESS is visible in the database.
Bare is ``WhisperModel.transcribe`` with the same model and settings (int8, beam 5, VAD,
same cpu_threads), model already loaded. Runs alternate; the last line is the ratio of the
medians (target: at most 1.15).

    .venv/bin/python bench/pipeline_overhead.py [--runs 5] [--file tests/fixtures/lecture_60s_en.mp3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.settings")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
QUEUE = f"bench-{os.getpid()}"
os.environ["CELERY_QUEUE"] = QUEUE  # never shared with a running dev worker


def start_worker() -> subprocess.Popen:
    env = {**os.environ, "STT_WARMUP": "1", "LOG_LEVEL": "WARNING"}
    cmd = [sys.executable, "-m", "celery", "-A", "settings", "--quiet", "worker", "-Q", QUEUE, "--concurrency", "1",
           "--loglevel", "WARNING", "--hostname", f"{QUEUE}@%h"]  # fmt: skip
    return subprocess.Popen(cmd, cwd=ROOT, env=env)


def wait_worker_ready(app, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.control.ping(destination=[f"{QUEUE}@{os.uname().nodename}"], timeout=1.0):
            return
    raise SystemExit("bench worker did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--file", default=str(ROOT / "tests/fixtures/lecture_60s_en.mp3"))
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.files import File
    from django.core.management import call_command

    from knowledge.ingest import create_documents
    from knowledge.models import TERMINAL_STATUSES, Document, KnowledgeBase, Status
    from settings.celery import app
    from stt_models.providers.faster_whisper import load_model
    from stt_models.registry import resolve_speech_model

    call_command("migrate", verbosity=0)
    model = resolve_speech_model("bundled-tiny-en")
    threads = int(model.options.get("cpu_threads", settings.STT_CPU_THREADS))
    media = Path(args.file)
    kb, _ = KnowledgeBase.objects.get_or_create(name=f"bench-{os.getpid()}")

    def pipeline_once() -> float:
        started = time.perf_counter()
        with open(media, "rb") as fh:
            (doc,) = create_documents(kb, [File(fh, name=media.name)], stt_model=model)
        while True:
            state = Document.objects.filter(pk=doc.pk).values_list("status", "error").get()
            if state[0] in TERMINAL_STATUSES:
                break
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        if state[0] != Status.SUCCESS:
            raise SystemExit(f"pipeline run ended {state[0]}: {state[1]}")
        return elapsed

    whisper = load_model(model.model, model.device, model.compute_type, threads)

    def bare_once() -> float:
        started = time.perf_counter()
        segments, _ = whisper.transcribe(str(media), beam_size=5, vad_filter=True, language="en")
        list(segments)
        return time.perf_counter() - started

    worker = start_worker()
    try:
        wait_worker_ready(app)
        pipeline_once(), bare_once()  # warm-up of both paths, not measured
        pipeline_times, bare_times = [], []
        for i in range(args.runs):
            pipeline_times.append(pipeline_once())
            bare_times.append(bare_once())
            print(f"run {i + 1}: pipeline {pipeline_times[-1]:.2f}s  bare faster-whisper {bare_times[-1]:.2f}s")
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        for doc in kb.documents.all():
            doc.file.delete(save=False)
        kb.delete()
        from settings import embedded

        embedded.stop_services_started_here()
    pipeline, bare = statistics.median(pipeline_times), statistics.median(bare_times)
    print(f"file {media.name}, model {model.name}, cpu_threads {threads}, beam 5, vad on, int8")
    print(f"median pipeline {pipeline:.2f}s, median bare {bare:.2f}s")
    print(f"pipeline/bare wall-time ratio: {pipeline / bare:.3f}")


if __name__ == "__main__":
    main()
