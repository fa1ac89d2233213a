"""Transient trouble is retried by the stage's Celery task as its decorator declares (real worker,
real broker, a loopback speech server that answers 503): a few failures end in SUCCESS, too many
in FAILURE with the reason, never a document left STARTED."""

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from knowledge.models import ProcessingRun, Status
from media_learning.tasks import process_document
from stt_models.models import SpeechModel
from tests.conftest import fixture_path, wait_for_documents
from tests.stt_models.openai_server import OpenAIAudioServer

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SECRET = "sk-retry-test-51c0"


@pytest.fixture
def remote(monkeypatch):
    monkeypatch.setenv("TEST_STT_KEY", SECRET)
    with OpenAIAudioServer(api_key=SECRET) as server:
        SpeechModel.objects.create(name="flaky-remote", provider="openai_compatible", model="whisper-1",
                                   base_url=server.base_url, api_key_env="TEST_STT_KEY",
                                   options={"max_retries": 0})  # fmt: skip
        yield server


def upload(api, name: str) -> int:
    kb = api.post("/api/knowledge/", {"name": "Retries"}, format="json").data["id"]
    response = api.post(f"/api/knowledge/{kb}/document/",
                        {"file": SimpleUploadedFile(name, fixture_path(name).read_bytes()),
                         "stt_model_id": "flaky-remote"}, format="multipart")  # fmt: skip
    assert response.status_code == 201, response.data
    return response.data["documents"][0]["id"]


def test_the_retries_are_declared_on_the_stage_task():
    assert process_document.autoretry_for and process_document.retry_jitter
    assert process_document.max_retries == settings.MEDIA_MAX_TRIES - 1


def test_a_speech_server_that_recovers_is_retried_to_success(api, remote, celery_worker):
    remote.fail_times = settings.MEDIA_MAX_TRIES - 1  # every try but the last meets a 503

    (doc,) = wait_for_documents([upload(api, "jupiter_en.mp3")], timeout=90)

    assert doc.status == Status.SUCCESS, doc.error
    assert remote.failed == settings.MEDIA_MAX_TRIES - 1 and len(remote.requests) >= 1
    outcomes = list(ProcessingRun.objects.filter(document=doc).order_by("attempt").values_list("outcome", flat=True))
    assert outcomes == ["RETRY"] * (settings.MEDIA_MAX_TRIES - 1) + ["SUCCESS"]


def test_a_speech_server_that_stays_down_fails_the_document_with_the_reason(api, remote, celery_worker):
    remote.fail_times = 100

    (doc,) = wait_for_documents([upload(api, "jupiter_en.mp3")], timeout=90)

    assert doc.status == Status.FAILURE
    assert doc.error.startswith(f"gave up after {settings.MEDIA_MAX_TRIES} tries: ") and "503" in doc.error
    assert SECRET not in doc.error
    assert remote.failed == settings.MEDIA_MAX_TRIES  # one request per try (the client's own retries off)
