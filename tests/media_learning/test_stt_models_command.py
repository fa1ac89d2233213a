"""manage.py stt_models warmup|unload against real workers: the solo worker thread of the suite,
and a prefork worker process whose child must give its memory back."""

import os
import time

import psutil
import pytest
from django.core.management import call_command

from settings.celery import app
from stt_models.providers import faster_whisper
from tests.processes import Worker, process_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_unload_then_warmup_in_the_solo_worker(speech_models, celery_worker, capsys):
    faster_whisper.load_model("bundled:tiny.en", "cpu", "int8", 2)  # something to unload

    call_command("stt_models", "unload", "--worker", celery_worker.hostname)
    after_unload = faster_whisper.loaded_models()
    call_command("stt_models", "warmup", "--model", "bundled-tiny-en", "--worker", celery_worker.hostname)

    out = capsys.readouterr().out
    assert after_unload == []
    assert "unloaded" in out and f"{celery_worker.hostname}: loaded bundled-tiny-en" in out
    assert [key[0] for key in faster_whisper.loaded_models()] == ["bundled:tiny.en"]


def child_of(worker, old_pid=None, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = [c for c in psutil.Process(worker.pid).children() if c.pid != old_pid and c.is_running()]
        if children:
            return children[0]
        time.sleep(0.2)
    raise AssertionError("no pool child appeared")


def wait_for_log(path, text, count, timeout=120):
    """Wait until the worker's log holds ``text`` ``count`` times (warm-up finished)."""
    deadline = time.monotonic() + timeout
    while path.read_text().count(text) < count:
        assert time.monotonic() < deadline, path.read_text()[-2000:]
        time.sleep(0.2)


def test_unload_recycles_prefork_children_and_frees_their_memory(speech_models, tmp_path):
    env = process_env(f"q-{os.getpid()}", STT_WARMUP="1")
    worker = Worker(env, "prefork", tmp_path, pool="prefork")
    hostname, log, warmed = worker.hostname, worker.log, "warmed up speech model auto"
    try:
        warm_child = child_of(worker.proc)
        wait_for_log(log, warmed, 1)
        warm = warm_child.memory_info().rss
        deadline = time.monotonic() + 60
        while not app.control.ping(destination=[hostname], timeout=1.0):
            assert time.monotonic() < deadline, log.read_text()

        call_command("stt_models", "unload", "--worker", hostname)
        cold_child = child_of(worker.proc, old_pid=warm_child.pid)
        time.sleep(3)  # a cold child loads nothing; give it time to prove that
        cold = cold_child.memory_info().rss
        call_command("stt_models", "warmup", "--worker", hostname)
        rewarmed_child = child_of(worker.proc, old_pid=cold_child.pid)
        wait_for_log(log, warmed, 2)
        rewarmed = rewarmed_child.memory_info().rss
        assert log.read_text().count(warmed) == 2  # the cold child never warmed up
    finally:
        worker.stop()

    mib = 2**20
    print(f"child RSS: warm {warm / mib:.0f} MiB, unloaded {cold / mib:.0f} MiB, warm again {rewarmed / mib:.0f} MiB")
    assert warm - cold > 150 * mib
    assert rewarmed - cold > 150 * mib
