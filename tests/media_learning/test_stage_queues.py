"""Stage queues with role workers: transcription, diarization, polishing and indexing each run on
their own queue, started as an operator would (`manage.py worker --role ...`), and a document waits on a
stage's queue, untouched by the reaper, until a worker of that role is there."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from knowledge import transitions
from knowledge.ingest import wait_until_finished
from knowledge.models import Document, ProcessingRun, RunOutcome, Stage, Status
from tests.conftest import KEY_ENV, fixture_path
from tests.fixtures import speaker_mixes as mixes
from tests.processes import Worker, manage, process_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def ingest(env: dict[str, str], *options: str, media: Path | None = None) -> int:
    out = manage(env, "ingest", str(media or fixture_path("lecture_60s_en.mp3")), "--knowledge", "roles",
                 "--stt-model", "bundled-tiny-en", *options)  # fmt: skip
    return int(re.search(r"queued document (\d+)", out).group(1))


def waiting_for(doc_id: int, stage: str = Stage.INDEXING) -> bool:
    doc = Document.objects.get(pk=doc_id)
    return doc.status == Status.STARTED and doc.stage == stage and doc.heartbeat_at is None


def waiting_for_index(doc_id: int) -> bool:
    return waiting_for(doc_id, Stage.INDEXING)


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.mark.usefixtures("language_model")  # the LLM "editor", served on loopback
def test_documents_move_through_role_queues_and_wait_for_their_workers(speech_models, tmp_path):
    env = process_env(f"roles-{os.getpid()}", **{KEY_ENV: os.environ[KEY_ENV]})
    samples, _ = mixes.build(["en_slt", "en_kal"], turns=4, seed=3)
    mixes.write_mp3(tmp_path / "pair.mp3", samples)
    workers = [Worker(env, "tr", tmp_path, role="transcribe"), Worker(env, "llm", tmp_path, role="llm")]
    try:
        pair = ingest(env, "--option", "diarize=on", media=tmp_path / "pair.mp3")
        polished = ingest(env, "--llm-model", "editor", "--option", "diarize=off")  # one voice: no speakers to find
        plain = ingest(env, "--option", "diarize=off")
        # no diarize or index worker yet: the meeting waits on the diarize queue while the transcribe
        # worker goes on to the next files, which get as far as the index queue and wait there
        wait_for(lambda: waiting_for_index(polished) and waiting_for_index(plain), 180, "the index queue")
        assert waiting_for(pair, Stage.DIARIZING)
        assert Document.objects.get(pk=polished).summary  # polished and summarised on the llm queue

        time.sleep(1.5)
        out = manage(env, "reap_stuck", "--started-after", "1")  # their heartbeat is "stale", but they are queued
        assert "requeued" not in out and waiting_for_index(polished) and waiting_for_index(plain), out
        assert transitions.cancel(plain) == Status.REVOKE  # cancelled while it waits in the queue

        workers += [Worker(env, "ix", tmp_path, role="index"), Worker(env, "dz", tmp_path, role="diarize")]
        done = {d.pk: d for d in wait_until_finished([polished, plain, pair], timeout=180)}
    finally:
        for worker in workers:
            worker.stop()

    assert done[polished].status == Status.SUCCESS, done[polished].error
    assert done[polished].paragraphs.filter(kind="summary").exists()
    (run,) = ProcessingRun.objects.filter(document_id=polished)  # one attempt across three workers
    assert run.outcome == RunOutcome.SUCCESS and set(run.timings) >= {"transcribe", "polish", "index"}
    assert [part.split(" pid ")[0] for part in run.worker.split("; ")] == [
        workers[0].hostname, f"polish: {workers[1].hostname}", f"index: {workers[2].hostname}"
    ]  # fmt: skip
    assert done[plain].status == Status.REVOKED and not done[plain].paragraphs.exists()
    assert done[pair].status == Status.SUCCESS, done[pair].error
    assert set(done[pair].paragraphs.values_list("speaker", flat=True)) == {"SPEAKER_1", "SPEAKER_2"}
    (run,) = ProcessingRun.objects.filter(document_id=pair)
    assert [part.split(" pid ")[0] for part in run.worker.split("; ")] == [
        workers[0].hostname, f"diarize: {workers[3].hostname}", f"index: {workers[2].hostname}"
    ]  # fmt: skip
    assert ProcessingRun.objects.get(document_id=plain).outcome == RunOutcome.REVOKED


def test_worker_command_consumes_its_role_queues_and_pins_the_gpu():
    env = process_env("cmd")
    out = manage(env, "worker", "--role", "transcribe", "--gpu", "1", "--print")
    assert (
        out.startswith("CUDA_VISIBLE_DEVICES=1 ") and "-Q cmd-transcribe.high,cmd-transcribe,cmd-transcribe.low " in out
    )
    assert "-Q cmd-llm " in manage(env, "worker", "--role", "llm", "--concurrency", "8", "--print")
    everything = manage(env, "worker", "--beat", "--print")
    assert "-Q cmd-diarize " in manage(env, "worker", "--role", "diarize", "--print")
    assert (
        "-Q cmd-default,cmd-index,cmd-llm,cmd-diarize,cmd-transcribe.high,cmd-transcribe,cmd-transcribe.low "
        in everything
    )
    assert " -B " in everything


def test_a_worker_warms_only_the_models_of_its_role(settings, monkeypatch):
    from media_learning.warmup import ROLE_ENV, role_models

    assert role_models("transcribe") == ("speech",) and role_models("diarize") == ("speakers",)
    assert role_models("index") == ("embeddings",) and role_models("llm") == role_models("default") == ()
    assert role_models("all") == ("speech", "embeddings")
    monkeypatch.setenv(ROLE_ENV, "diarize")  # what `manage.py worker --role diarize` sets for its processes
    assert role_models() == ("speakers",)
    settings.STAGE_QUEUES = False  # a transcribe worker that indexes too
    assert role_models("transcribe") == ("speech", "embeddings")
