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


def test_serve_says_ready_only_when_the_web_server_and_the_workers_are_warm(live_server, celery_worker, settings):
    from knowledge import search
    from media_learning import warmup
    from media_learning.management.commands.serve import ready

    settings.HEALTH_CACHE_SECONDS = 0  # every answer measured afresh
    bind = live_server.url.removeprefix("http://")
    search.WARMED.clear()  # a web process that has not loaded the search models
    cold_web = ready(bind)
    search.warm_up()
    warm = ready(bind)
    warmup.policy.enabled = True  # a worker that should warm up and has not yet
    warmup.WARMED.clear()
    try:
        cold_worker = ready(bind)
        held = httpx.get(f"{live_server.url}/api/health/").json()
    finally:
        warmup.policy.enabled = None
        warmup.WARMED.set()

    assert (cold_web, warm, cold_worker) == (False, True, False)
    assert held == {"status": "ok", "ready": False}  # anyone sees whether it is ready, not why
    assert ready(bind)
    assert not ready(f"127.0.0.1:{free_port()}")  # nothing listens there


def test_a_prefork_worker_is_warm_once_each_pool_process_is(settings, tmp_path):
    import os

    from media_learning import warmup

    settings.VAR_DIR = tmp_path
    me = os.getpid()
    for child in (me, 2**22 + 17):  # a live process, and one long gone
        warmup.warm_marker(me, child).parent.mkdir(parents=True, exist_ok=True)
        warmup.warm_marker(me, child).touch()

    assert warmup.warm_children(me) == 1
    assert not warmup.warm_marker(me, 2**22 + 17).exists()  # a dead one's marker is cleared
    assert warmup.warm_children(me + 1) == 0
