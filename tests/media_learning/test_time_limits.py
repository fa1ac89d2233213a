"""Time limits that scale with the media's length: a run stuck on a service that never answers
(or a decoder that never returns) is failed with the reason, and a process stuck in native code
is killed and replaced while the worker carries on."""

from __future__ import annotations

import os
import re
import socket
import time

import psutil
import pytest

from knowledge.ingest import wait_until_finished
from knowledge.models import Document, ProcessingRun, RunOutcome, Status
from stt_models.models import SpeechModel
from tests.conftest import fixture_path
from tests.processes import Worker, manage, process_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections into its backlog and never answers."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/v1"


def hung_model(base_url: str, timeout: float) -> SpeechModel:
    return SpeechModel.objects.create(name="hung", provider="openai_compatible", model="whisper-1", base_url=base_url,
                                      options={"timeout": timeout, "max_retries": 0})  # fmt: skip


def test_run_past_its_time_limit_fails_with_the_reason(api, speech_models, silent_server, celery_worker, settings):
    settings.TASK_TIME_LIMIT_BASE, settings.TASK_TIME_LIMIT_FACTOR, settings.HEARTBEAT_SECONDS = 2.0, 0.0, 0.5
    hung_model(silent_server, timeout=6)
    kb = api.post("/api/knowledge/", {"name": "slow"}, format="json").data["id"]
    response = api.post(f"/api/knowledge/{kb}/document/", {"file": [open(fixture_path("jupiter_en.mp3"), "rb")],
                                                           "stt_model_id": "hung"})  # fmt: skip
    doc_id = response.data["documents"][0]["id"]
    started = time.monotonic()

    (doc,) = wait_until_finished([doc_id], timeout=60, poll=0.1)

    assert doc.status == Status.FAILURE and time.monotonic() - started < 5  # failed at the limit, not the timeout
    assert re.match(r"stopped after \d+ s: over the time limit of 2 s for 0\.2 min of media", doc.error), doc.error
    time.sleep(6)  # the stuck request times out; the run then records the same reason
    (run,) = ProcessingRun.objects.filter(document_id=doc_id)
    assert run.outcome == RunOutcome.FAILURE and run.error == doc.error


def test_process_stuck_in_native_code_is_killed_and_the_worker_carries_on(speech_models, silent_server, tmp_path):
    hung_model(silent_server, timeout=3600)
    env = process_env(f"stuck-{os.getpid()}", TASK_TIME_LIMIT_BASE="3", TASK_TIME_LIMIT_FACTOR="1.5",
                      TASK_KILL_GRACE="2", HEARTBEAT_SECONDS="0.5")  # fmt: skip
    worker = Worker(env, "stuck", tmp_path, pool="prefork")
    try:
        out = manage(env, "ingest", str(fixture_path("jupiter_en.mp3")), "--knowledge", "stuck", "--stt-model", "hung")
        (stuck_id,) = map(int, re.findall(r"queued document (\d+)", out))
        deadline = time.monotonic() + 90
        while not (children := psutil.Process(worker.proc.pid).children()):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        first_child = children[0].pid
        (stuck,) = wait_until_finished([stuck_id], timeout=90, poll=0.2)
        psutil.Process(first_child).wait(timeout=30)  # killed: it was blocked in a socket read

        out = manage(env, "ingest", str(fixture_path("jupiter_en.mp3")), "--knowledge", "stuck")
        (next_id,) = map(int, re.findall(r"queued document (\d+)", out))
        (after,) = wait_until_finished([next_id], timeout=120, poll=0.2)
        log = worker.log.read_text()
    finally:
        worker.stop()

    assert stuck.status == Status.FAILURE and re.search(
        r"over the time limit of 2\d s for 0.2 min of media", stuck.error
    )
    assert "killing this worker process" in log
    assert after.status == Status.SUCCESS, after.error  # a new pool process took the next document
    assert Document.objects.get(pk=stuck_id).status == Status.FAILURE  # the redelivered message changed nothing
