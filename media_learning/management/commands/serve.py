"""manage.py serve: run a Celery worker and the web server together until Ctrl-C.

The worker is one process with a threads pool of ``--concurrency`` (default: the cores, at most
4), so that many documents (or fanned-out segments) are transcribed at once with one copy of each
model: its whisper models are loaded with as many CTranslate2 replicas (``STT_NUM_WORKERS``,
sharing the weights) of ``STT_CPU_THREADS`` = cores / concurrency threads each. On 2 cores two
one-thread transcriptions at once take 0.55-0.6x the time of the same files one after another
with two threads (tiny.en; a lone file takes the same time either way), and a second worker
process would cost its own copy of every model. Either variable set in the environment wins.

On exit it stops both children and then the embedded PostgreSQL/Redis (when they are embedded).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from knowledge.queue import role_queues
from settings import embedded


def web_command(bind: str, workers: int, threads: int | None = None) -> list[str]:
    """The web server as `serve` runs it (the security tests start the same)."""
    threads = threads or settings.WEB_THREADS  # EVENTS_MAX_STREAMS leaves the other half for everything else
    return [sys.executable, "-m", "gunicorn", "settings.wsgi", "--config", "python:settings.gunicorn",
            "--bind", bind, "--workers", str(workers), "--threads", str(threads), "--timeout", "600",
            "--access-logfile", "-"]  # fmt: skip


def default_concurrency() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


# glibc's allocator for the threads pool: at most two arenas, and blocks of 8 MiB or more (audio,
# VAD and decoder buffers) mapped and unmapped on their own, not kept in an arena after use. With
# glibc's defaults the pool's threads each grew an arena that was never given back (60 min
# recording: 2151 MiB RSS, 1493 with a 1 MiB threshold, batches of 8). With batches of 2, in one
# sitting (bench/long_media.py 60 min, bench/peers.py batch ratio): a 1 MiB threshold 865 MiB
# but the twelve-file batch at 0.94x bare (every buffer of a mel chunk mapped afresh); no
# threshold 1094 MiB, 0.71x; 8 MiB 914 MiB, 0.79x. The same words in all.
MALLOC_ENV = {"MALLOC_ARENA_MAX": "2", "MALLOC_MMAP_THRESHOLD_": "8388608"}


# Voice chunks decoded at once per transcription when several run side by side. Each chunk of a
# batch holds beam_size hypotheses, each with the decoder's cache of the whole 30 s encoding
# (tiny: about 90 MB a chunk at beam 5; base twice that). Two transcriptions of a 280 s segment
# on one core each took 12.7 s with batches of 8 and 11.6 s with batches of 2, the same words,
# and peaked 1144 MiB over the loaded model against 656 (docs/benchmarks.md, long media).
SHARED_BATCH_SIZE = 2


def worker_env(env: dict[str, str], concurrency: int) -> dict[str, str]:
    """The worker's environment: a replica of each speech model per pool thread, the cores
    shared among them, smaller batches when they run side by side, and the allocator settings
    above (unless the environment says otherwise)."""
    cores = os.cpu_count() or 1
    shared = {"STT_NUM_WORKERS": str(concurrency), "STT_CPU_THREADS": str(max(1, cores // concurrency))}
    if concurrency > 1:
        shared["STT_BATCH_SIZE"] = str(SHARED_BATCH_SIZE)
    return {**shared, **MALLOC_ENV, **env}


def ready(bind: str) -> bool:
    """The web server's health check says ready: it answers, a worker answers, and both have
    loaded their models (so an upload or a search now runs at full speed)."""
    try:
        answer = httpx.get(f"http://{bind}/api/health/", timeout=5.0)
        return answer.status_code == 200 and answer.json().get("ready") is True
    except Exception:  # noqa: BLE001 - not up yet, whatever the reason
        return False


class Command(BaseCommand):
    help = "Run a Celery worker and the web server (gunicorn) until interrupted."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=os.environ.get("BIND", "127.0.0.1:8000"))
        # one web process per two cores (each holds the search models, ~290 MiB; its WEB_THREADS
        # threads serve requests side by side, the search itself in numpy and ONNX Runtime)
        web_workers = max(1, min(4, (os.cpu_count() or 1) // 2))
        parser.add_argument("--web-workers", type=int, default=int(os.environ.get("WEB_WORKERS", web_workers)))
        parser.add_argument("--concurrency", type=int,
                            default=int(os.environ.get("WORKER_CONCURRENCY", default_concurrency())))  # fmt: skip

    def handle(self, *args: str, **opts: object) -> None:
        python = sys.executable
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        commands = {
            # -B: the worker also runs Celery beat, which schedules the reaper (one machine only;
            # on a fleet run `celery -A settings beat` once, see docs/deployment.md).
            "worker": [python, "-m", "celery", "-A", "settings", "worker", "--loglevel", "INFO", "-B",
                       "--schedule", str(settings.VAR_DIR / "celerybeat-schedule"),
                       "-Q", ",".join(role_queues("all")), "--pool", "threads",
                       "--concurrency", str(opts["concurrency"])],
            "web": web_command(str(opts["bind"]), int(opts["web_workers"])),
        }  # fmt: skip
        children: dict[str, subprocess.Popen] = {}
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        embedded.start_services()  # here, before the children, so that stopping them is ours
        try:
            envs = {"worker": worker_env(env, int(opts["concurrency"])), "web": env}
            for name, cmd in commands.items():
                children[name] = subprocess.Popen(cmd, env=envs[name], start_new_session=True)
            self.stdout.write(f"starting on http://{opts['bind']}/ ...")
            announced = False
            while not stopping:
                if not announced and ready(str(opts["bind"])):
                    announced = True
                    self.stdout.write(f"ready: http://{opts['bind']}/ (admin: /admin/, API: /api/) - Ctrl-C to stop")
                for name, child in children.items():
                    if child.poll() is not None:
                        self.stderr.write(f"{name} exited with {child.returncode}; stopping")
                        stopping = True
                time.sleep(0.5)
        finally:
            self.stdout.write("stopping...")
            for child in children.values():
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 60
            for child in children.values():
                try:
                    child.wait(timeout=max(1.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
            embedded.stop_services(
                settings.VAR_DIR, postgres=settings.EMBEDDED_POSTGRES, redis_=settings.EMBEDDED_REDIS
            )
            self.stdout.write("stopped")
