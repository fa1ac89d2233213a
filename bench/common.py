"""What the bench scripts share: Django set-up on a private queue, a real Celery worker
process, and ingesting a file through the full pipeline."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
QUEUE = f"bench-{os.getpid()}"


def wer(reference: str, hypothesis: str) -> float:
    """English word error rate, case and punctuation aside (jiwer)."""
    import jiwer

    ref = " ".join(re.sub(r"[^a-z0-9' ]+", " ", reference.lower()).split())
    hyp = " ".join(re.sub(r"[^a-z0-9' ]+", " ", hypothesis.lower()).split())
    return jiwer.wer(ref, hyp) if ref else float(bool(hyp))


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.settings")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ["CELERY_QUEUE_PREFIX"] = f"{QUEUE}-"  # queues never shared with a running dev worker
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def queues() -> str:
    """Every queue of the private prefix, for ``celery worker -Q``."""
    from knowledge.queue import role_queues

    return ",".join(role_queues("all"))


def start_worker(timeout: float = 180, pool: str = "prefork", concurrency: int = 1) -> subprocess.Popen:
    """A warm worker process on the private queue, ready to take work: prefork with
    ``concurrency`` children, or one process with a threads pool as ``manage.py serve`` runs it
    (a speech-model replica per thread and the cores shared among them, ``serve.worker_env``)."""
    from media_learning.management.commands.serve import worker_env
    from settings.celery import app

    env = {**os.environ, "STT_WARMUP": "1", "LOG_LEVEL": "WARNING"}
    if pool == "threads":
        env = worker_env(env, concurrency)
    hostname = f"{QUEUE}@{os.uname().nodename}"
    cmd = [sys.executable, "-m", "celery", "-A", "settings", "--quiet", "worker", "-Q", queues(), "--pool", pool,
           "--concurrency", str(concurrency), "--loglevel", "WARNING", "--hostname", hostname]  # fmt: skip
    worker = subprocess.Popen(cmd, cwd=ROOT, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.control.ping(destination=[hostname], timeout=1.0):
            return worker
    worker.terminate()
    raise SystemExit("bench worker did not start")


def stop_worker(worker: subprocess.Popen) -> None:
    worker.terminate()
    worker.wait(timeout=60)


def ingest_and_wait(kb: Any, path: Path, model: Any, options: dict | None = None) -> float:
    """Upload ``path`` through the real path and return seconds until SUCCESS is visible."""
    from django.core.files import File

    from knowledge.ingest import create_documents, wait_until_finished
    from knowledge.models import Status

    started = time.perf_counter()
    with open(path, "rb") as fh:
        (doc,) = create_documents(kb, [File(fh, name=path.name)], stt_model=model, options=options)
    (doc,) = wait_until_finished([doc.pk], poll=0.01)
    elapsed = time.perf_counter() - started
    if doc.status != Status.SUCCESS:
        raise SystemExit(f"pipeline run ended {doc.status}: {doc.error}")
    return elapsed


def clean_up(kb: Any) -> None:
    """Delete the bench's knowledge base and its files, then stop the embedded services this
    process started."""
    for doc in kb.documents.all():
        doc.file.delete(save=False)
    kb.delete()
    from settings import embedded

    embedded.stop_services_started_here()
