"""gunicorn web workers, started as `serve` starts them, load the search models as they start."""

import socket
import subprocess
import sys
import time

import httpx
import pytest
from rest_framework.authtoken.models import Token

from knowledge.models import KnowledgeBase
from tests.processes import ROOT, process_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_each_web_worker_warms_up_search_before_the_first_request(user, tmp_path):
    kb = KnowledgeBase.objects.create(name="warm", owner=user)
    token = Token.objects.create(user=user).key
    port, log = free_port(), tmp_path / "gunicorn.log"
    command = [sys.executable, "-m", "gunicorn", "settings.wsgi", "--config", "python:settings.gunicorn",
               "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "2"]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env=process_env("warm"), stderr=open(log, "w"))
    try:
        deadline = time.monotonic() + 180
        while log.read_text().count("search warmed up") < 2 and time.monotonic() < deadline:
            assert server.poll() is None, log.read_text()[-3000:]
            time.sleep(0.5)
        text = log.read_text()
        answer = httpx.get(f"http://127.0.0.1:{port}/api/knowledge/{kb.pk}/search/",
                           params={"q": "warm start"}, headers={"Authorization": f"Token {token}"})  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=60)

    assert text.count("search warmed up") == 2, text[-3000:]  # one per worker, before any request
    assert "search warmed up in" in text and "(bundled:use-multilingual-v3)" in text
    assert answer.status_code == 200 and answer.json() == []


def test_serve_says_ready_only_when_the_web_server_and_a_worker_answer(live_server, celery_worker):
    from media_learning.management.commands.serve import ready

    bind = live_server.url.removeprefix("http://")

    assert ready(bind)
    assert not ready(f"127.0.0.1:{free_port()}")  # nothing listens there
