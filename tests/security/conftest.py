"""The security suite runs as an attacker would: against the web server as `make run` starts it
(gunicorn, the same command, a subprocess with production settings from the environment), the
suite's real Celery worker, and real loopback servers standing in for the attacker's hosts.
Each test states the attack and what must hold; each failed before its fix."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from media_learning.management.commands.serve import web_command
from tests.processes import ROOT, process_env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiveServer:
    """gunicorn as `serve` runs it, on a free loopback port, with ``env`` over the production
    settings. Its tasks go to the suite's queues ("test-"), which the ``celery_worker`` takes."""

    static: Path | None = None  # collected static files (set by the ``collected_static`` fixture)

    def __init__(self, log_dir: Path, workers: int = 1, **env: str) -> None:
        self.port = free_port()
        self.root = f"http://127.0.0.1:{self.port}"
        self.log = log_dir / f"gunicorn-{self.port}.log"
        static = {"STATIC_ROOT": str(LiveServer.static)} if LiveServer.static else {}
        production = {"MODEL_URL_ALLOWLIST": "", "MODEL_API_KEY_ENVS": "OPENAI_API_KEY=https://api.openai.com/"}
        environment = process_env("test", SEARCH_WARMUP="0", UPLOAD_RATE="", SEARCH_RATE="",
                                  **{**production, **static, **env})  # fmt: skip
        self.proc = subprocess.Popen(web_command(f"127.0.0.1:{self.port}", workers), cwd=ROOT, env=environment,
                                     stdout=open(self.log, "w"), stderr=subprocess.STDOUT)  # fmt: skip
        deadline = time.monotonic() + 120
        while True:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"{self.root}/api/health/", timeout=2).status_code in (200, 503):
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the web server did not start: " + self.log.read_text()[-3000:]
            time.sleep(0.3)

    def client(self, token: str | None = None, **kwargs) -> httpx.Client:
        headers = {"Authorization": f"Token {token}"} if token else {}
        return httpx.Client(base_url=self.root, headers=headers, timeout=kwargs.pop("timeout", 60), **kwargs)

    def log_text(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory) -> Path:
    """The static files, collected once as `make run` collects them, for every live server."""
    folder = tmp_path_factory.mktemp("static")
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, check=True,
                   env={**os.environ, "DJANGO_SETTINGS_MODULE": "settings.settings", "STATIC_ROOT": str(folder)},
                   timeout=300)  # fmt: skip
    return folder


@pytest.fixture(scope="session", autouse=True)
def _live_servers_serve_collected_static(collected_static: Path) -> None:
    LiveServer.static = collected_static


@pytest.fixture(scope="module")
def live(django_db_setup, tmp_path_factory) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path_factory.mktemp("live"))
    yield server
    server.stop()


class People:
    """Three ordinary users and one staff user without any model permission, each with a token
    and an httpx client for ``server``."""

    def __init__(self, server: LiveServer) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.hashers import PBKDF2PasswordHasher
        from django.utils.crypto import get_random_string
        from rest_framework.authtoken.models import Token

        users = get_user_model()
        self.server = server
        self.users, self.tokens, self.clients = {}, {}, {}
        for name in ("alice", "bob", "carol", "staffer"):
            user = users.objects.create_user(name, f"{name}@example.com", is_staff=name == "staffer")
            # a hash the server's own settings verify (the suite's MD5 hasher is not among them),
            # with few rounds: the server reads the count from the hash
            user.password = PBKDF2PasswordHasher().encode(f"pw-{name}-1234", get_random_string(12), iterations=1000)
            user.save(update_fields=["password"])
            self.users[name] = user
            self.tokens[name] = Token.objects.create(user=user).key
            self.clients[name] = server.client(self.tokens[name])

    def __getattr__(self, name: str) -> httpx.Client:
        try:
            return self.__dict__["clients"][name]
        except KeyError:
            raise AttributeError(name) from None

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


def settle_documents(timeout: float = 60.0, quiet: float = 1.0) -> None:
    """Drop the queued processing of this test's uploads and wait until no document is being
    processed: the suite's worker (session-wide) must not write rows while the next test's
    flush truncates the tables (that deadlocked the flush)."""
    from knowledge.models import Document, Status
    from settings.celery import app

    app.control.purge()
    deadline = time.monotonic() + timeout
    calm_since = time.monotonic()
    while time.monotonic() < deadline:
        if Document.objects.filter(status=Status.STARTED).exists():
            calm_since = time.monotonic()
        elif time.monotonic() - calm_since >= quiet:
            return
        time.sleep(0.1)


@pytest.fixture
def people(live, transactional_db, speech_models) -> Iterator[People]:
    crowd = People(live)
    yield crowd
    crowd.close()
    settle_documents()


def knowledge_base(client: httpx.Client, name: str) -> int:
    response = client.post("/api/knowledge/", json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.fixture(scope="module")
def site_server():
    """A site on loopback that users name in file_url (pages, files, slow answers)."""
    from tests.security.attacker import RecordingServer

    with RecordingServer() as server:
        yield server


@pytest.fixture(scope="module")
def live_allowing_site(django_db_setup, tmp_path_factory, site_server) -> Iterator[LiveServer]:
    """A web server that allows the site's host:port (URL_FETCH_ALLOWLIST), as the worker does (``site``)."""
    server = LiveServer(tmp_path_factory.mktemp("live"), URL_FETCH_ALLOWLIST=f"127.0.0.1:{site_server.port}")
    yield server
    server.stop()


@pytest.fixture
def site(site_server, settings):
    """The site, allowed for the suite's worker too, with pages and files set by each test."""
    site_server.requests.clear()
    site_server.files.clear()
    site_server.trickle.clear()
    site_server.headers = {}
    settings.URL_FETCH_ALLOWLIST = [f"127.0.0.1:{site_server.port}"]
    return site_server


def stored_files() -> set[Path]:
    """Every stored original under MEDIA_ROOT/documents."""
    from django.conf import settings

    folder = Path(settings.MEDIA_ROOT) / "documents"
    return {p for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()
