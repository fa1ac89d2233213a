"""What the bench scripts share: Django set-up on a private queue, a real Celery worker
process, and ingesting a file through the full pipeline."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
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


class Service:
    """``manage.py serve`` in a private VAR_DIR and port, as ``make run`` starts it, and an HTTP
    client holding the bootstrap admin's token. ``env`` adds to (or overrides) its environment."""

    def __init__(self, var: Path, env: dict[str, str] | None = None) -> None:
        import httpx

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        self.var = var
        self.env = {**os.environ, "VAR_DIR": str(var), "BIND": f"127.0.0.1:{port}", "HF_HUB_OFFLINE": "1",
                    "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1", **(env or {})}  # fmt: skip
        manage = [sys.executable, "manage.py"]
        for step in (["migrate", "--noinput", "-v", "0"], ["bootstrap"]):
            subprocess.run([*manage, *step], cwd=ROOT, env=self.env, check=True, stdout=subprocess.DEVNULL)
        started = time.monotonic()
        self.log = open(var / "serve.log", "w")
        self.process = subprocess.Popen([*manage, "serve"], cwd=ROOT, env=self.env, stdout=subprocess.PIPE,
                                        stderr=self.log, text=True, start_new_session=True)  # fmt: skip
        for line in self.process.stdout:
            if line.startswith("ready:"):
                break
        else:
            raise SystemExit(f"the service did not start: see {var / 'serve.log'}")
        print(f"service ready in {time.monotonic() - started:.1f} s")
        threading.Thread(target=lambda: [None for _ in self.process.stdout], daemon=True).start()
        token = (var / "dev_api_token").read_text().strip()
        self.http = httpx.Client(base_url=self.base, headers={"Authorization": f"Token {token}"}, timeout=600)

    def new_knowledge_base(self, name: str, **fields: Any) -> int:
        """A knowledge base that transcribes every upload anew (no reuse of an earlier run)."""
        answer = self.http.post("/api/knowledge/", json={"name": name, "duplicates": "again", **fields})
        answer.raise_for_status()
        return answer.json()["id"]

    def upload(self, kb: int, files: list[tuple], timeout: float = 600, **data: str) -> list[dict]:
        """Upload ``files`` (httpx's form files) and wait until every document has finished;
        SystemExit unless all succeed."""
        answer = self.http.post(f"/api/knowledge/{kb}/document/", files=files, data=data)
        if answer.status_code not in (200, 201, 202):
            raise SystemExit(f"upload answered {answer.status_code}: {answer.text[:300]}")
        ids = [d["id"] for d in answer.json()["documents"]]
        deadline = time.monotonic() + timeout
        while True:
            docs = [self.http.get(f"/api/knowledge/document/{i}/").json() for i in ids]
            if all(d["status"] in ("SUCCESS", "FAILURE", "REVOKED") for d in docs):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"documents still unfinished after {timeout:.0f} s")
            time.sleep(0.5)
        for d in docs:
            if d["status"] != "SUCCESS":
                raise SystemExit(f"{d['name']}: {d['status']} {d.get('error')}")
        return docs

    def processes(self) -> list[Any]:
        """The serve tree, and the embedded PostgreSQL and Redis (daemons of this VAR_DIR)."""
        import psutil

        found = {}
        root = psutil.Process(self.process.pid)
        for proc in [root, *root.children(recursive=True)]:
            found[proc.pid] = proc
        for proc in psutil.process_iter(["cmdline"]):
            if any(str(self.var) in part for part in proc.info["cmdline"] or []):
                found[proc.pid] = proc
                for child in proc.children(recursive=True):
                    found[child.pid] = child
        return list(found.values())

    def pss(self) -> int:
        return sum(self.pss_by_process().values())

    def pss_by_process(self) -> dict[str, int]:
        """PSS per process, named by its command (the pid makes each name unique)."""
        import psutil

        found = {}
        for proc in self.processes():
            try:
                command = " ".join(proc.cmdline()[1:4]).replace(str(ROOT) + "/", "")
                found[f"{proc.pid} {proc.name()} {command}"[:90]] = proc.memory_full_info().pss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        return found

    def stop(self) -> None:
        """The serve tree, then the embedded PostgreSQL and Redis of its VAR_DIR (daemons that
        outlive it: a kept ``--var`` folder's would otherwise run on)."""
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
        subprocess.run([sys.executable, "manage.py", "embedded", "stop"], cwd=ROOT, env=self.env, check=False,
                       stdout=subprocess.DEVNULL, timeout=120)  # fmt: skip
