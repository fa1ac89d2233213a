"""The API with real workers: ?wait=, server-sent events, webhooks with retries, and priority
queues that let a high-priority upload overtake a backlog."""

import hashlib
import hmac
import json
import os
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from knowledge.ingest import wait_until_finished
from knowledge.models import Document, KnowledgeBase, Status, WebhookDelivery
from tests.conftest import fixture_path
from tests.fixtures.long_media import build_long_speech
from tests.knowledge.web_server import WebServer
from tests.processes import Worker, manage, process_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def kb(user, speech_models):
    return KnowledgeBase.objects.create(name="live", owner=user)


def mp3(name="jupiter_en.mp3"):
    return SimpleUploadedFile(name, fixture_path(name).read_bytes())


def test_upload_with_wait_returns_the_finished_document(api, kb, celery_worker):
    response = api.post(f"/api/knowledge/{kb.pk}/document/?wait=120", {"file": mp3()}, format="multipart")

    assert response.status_code == 200, response.data
    (doc,) = response.data["documents"]
    assert doc["status"] == Status.SUCCESS and doc["paragraph_count"] >= 1 and doc["progress"] == 1.0


def test_events_stream_status_stage_and_progress_until_success(api, kb, celery_worker):
    doc_id = api.post(f"/api/knowledge/{kb.pk}/document/", {"file": mp3("bread_en.mp4")}).data["documents"][0]["id"]

    response = api.get(f"/api/knowledge/document/{doc_id}/events/", HTTP_ACCEPT="text/event-stream")
    text = b"".join(response.streaming_content).decode()

    events = [json.loads(block.split("data: ", 1)[1]) for block in text.split("\n\n") if "event: status" in block]
    assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
    assert text.startswith("retry: ") and events[-1]["status"] == Status.SUCCESS and events[-1]["progress"] == 1.0
    assert len(events) >= 3 and any(e["stage"] == "transcribing" for e in events)
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress)  # it only moves forward


def test_webhook_is_signed_retried_and_recorded(api, kb, celery_worker, settings):
    with WebServer() as web:
        settings.URL_FETCH_ALLOWLIST = [web.address]
        web.hook_statuses = [500, 503]  # the receiver fails twice, then accepts
        kb.webhook_secret = "a-shared-secret-of-ours"
        kb.callback_url = f"{web.root}/kb-hook"
        kb.save()

        response = api.post(f"/api/knowledge/{kb.pk}/document/?wait=120",
                            {"file_url": f"{web.root}/media/jupiter_en.mp3", "callback_url": f"{web.root}/hook"},
                            format="json")  # fmt: skip
        doc_id = response.data["documents"][0]["id"]
        deadline = time.monotonic() + 30
        while len(web.hooks) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)

    assert response.status_code == 200 and response.data["documents"][0]["status"] == Status.SUCCESS
    assert [h["path"] for h in web.hooks] == ["/hook"] * 3  # the upload's URL wins over the knowledge base's
    last = web.hooks[-1]
    timestamp = last["headers"]["X-Webhook-Timestamp"]
    signed = timestamp.encode() + b"." + last["body"]
    expected = "sha256=" + hmac.new(b"a-shared-secret-of-ours", signed, hashlib.sha256).hexdigest()
    assert last["headers"]["X-Signature"] == expected and abs(int(timestamp) - time.time()) < 120
    ids = {h["headers"]["X-Webhook-Id"] for h in web.hooks}
    assert len(ids) == 1 and last["json"]["webhook_id"] in ids  # one event, retried under one id
    body = last["json"]
    assert body["document_id"] == doc_id and body["status"] == "SUCCESS" and body["error_message"] == ""
    assert body["paragraph_count"] >= 1 and body["completed_at"]
    deliveries = api.get(f"/api/knowledge/document/{doc_id}/").data["webhook_deliveries"]
    assert [(d["attempt"], d["status_code"], d["delivered"]) for d in deliveries] == [
        (1, 500, False), (2, 503, False), (3, 200, True)]  # fmt: skip
    assert WebhookDelivery.objects.filter(document_id=doc_id).count() == 3


def test_webhook_reports_a_failure_once_the_document_fails(api, kb, celery_worker, settings):
    with WebServer() as web:
        settings.URL_FETCH_ALLOWLIST = [web.address]
        response = api.post(f"/api/knowledge/{kb.pk}/document/?wait=60",
                            {"file": SimpleUploadedFile("broken.mp3", b"not audio at all"),
                             "callback_url": f"{web.root}/hook"})  # fmt: skip
        deadline = time.monotonic() + 30
        while not web.hooks and time.monotonic() < deadline:
            time.sleep(0.1)

    (doc,) = response.data["documents"]
    assert doc["status"] == Status.FAILURE
    assert web.hooks[0]["json"]["status"] == "FAILURE" and "cannot read" in web.hooks[0]["json"]["error_message"]


def test_high_priority_upload_overtakes_a_backlog_of_low_ones(speech_models, tmp_path):
    env = process_env(f"prio-{os.getpid()}")
    long_media = tmp_path / "two-minutes.mp3"  # long enough that the highs arrive while the first low runs
    build_long_speech(long_media, minutes=2)

    def ingest(priority: str, *paths: str) -> None:
        manage(env, "ingest", *paths, "--knowledge", "prio", "--priority", priority, "--stt-model", "bundled-tiny-en")

    ingest("low", *[str(long_media)] * 3)
    worker = Worker(env, "prio", tmp_path)
    try:
        deadline = time.monotonic() + 120
        while not Document.objects.filter(knowledge_base__name="prio").exclude(status=Status.PENDING).exists():
            assert time.monotonic() < deadline, "the worker never started a document"
            time.sleep(0.1)
        ingest("high", *[str(fixture_path("jupiter_en.mp3"))] * 2)  # while the first low one runs and two wait
        docs = list(Document.objects.filter(knowledge_base__name="prio").order_by("id"))
        finished = wait_until_finished([d.pk for d in docs], timeout=180)
    finally:
        worker.stop()

    assert [d.status for d in finished] == [Status.SUCCESS] * 5
    assert [d.priority for d in finished] == ["low", "low", "low", "high", "high"]
    started = [d.pk for d in sorted(finished, key=lambda d: d.status_meta["STARTED"])]
    ids = [d.pk for d in finished]
    # both high ones went next, ahead of the waiting low ones (round robin would interleave them)
    assert started == [ids[0], ids[3], ids[4], ids[1], ids[2]]
