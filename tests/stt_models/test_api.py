"""/api/stt-models/: list, create, update, check on save, and the test transcription on a worker."""

import pytest

from stt_models.models import SpeechModel
from tests.stt_models.conftest import KEY_ENV, SECRET


def remote(server, **extra):
    return {"name": "remote", "provider": "openai_compatible", "model": "whisper-1", "base_url": server.base_url,
            "api_key_env": KEY_ENV, **extra}  # fmt: skip


@pytest.mark.django_db
def test_create_api_model_checks_the_server_and_never_shows_the_key(staff, api, server):
    response = staff.post("/api/stt-models/", remote(server), format="json")

    assert response.status_code == 201, response.data
    assert response.data["check_error"] == "" and response.data["checked_at"]
    listing = api.get("/api/stt-models/")
    assert listing.status_code == 200 and SECRET not in listing.content.decode()
    assert {m["name"] for m in listing.data["results"]} >= {"remote", "bundled-tiny-en", "bundled-base"}


@pytest.mark.django_db
def test_check_reports_a_rejected_key_and_an_unreachable_server(staff, server, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-wrong")
    rejected = staff.post("/api/stt-models/", remote(server), format="json").data
    down = staff.post("/api/stt-models/", remote(server, name="down", base_url="http://127.0.0.1:9/v1"), format="json")

    assert rejected["check_error"] == f"{server.base_url} rejected the key from TEST_STT_KEY (401)"
    assert down.data["check_error"].startswith("cannot reach http://127.0.0.1:9/v1")


@pytest.mark.django_db
def test_bad_configuration_is_a_400_and_only_staff_may_write(staff, api, speech_models, tmp_path):
    missing = staff.post("/api/stt-models/", {"name": "x", "model": str(tmp_path)}, format="json")
    no_url = staff.post("/api/stt-models/", {"name": "y", "provider": "openai_compatible", "model": "w"}, format="json")
    forbidden = api.post("/api/stt-models/", {"name": "z", "model": "bundled:tiny.en"}, format="json")

    assert missing.status_code == 400 and "no CTranslate2 model.bin" in missing.data["errors"]["model"][0]
    assert no_url.status_code == 400 and "base_url" in no_url.data["errors"]
    assert forbidden.status_code == 403


@pytest.mark.django_db
def test_patch_default_moves_the_default(staff, speech_models):
    base = speech_models["bundled-base"]

    response = staff.patch(f"/api/stt-models/{base.pk}/", {"is_default": True}, format="json")

    assert response.status_code == 200 and response.data["is_default"] is True
    assert list(SpeechModel.objects.filter(is_default=True).values_list("name", flat=True)) == ["bundled-base"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_test_endpoint_transcribes_the_builtin_clip_on_a_worker(staff, speech_models, celery_worker):
    tiny = speech_models["bundled-tiny-en"]

    response = staff.post(f"/api/stt-models/{tiny.pk}/test/")

    assert response.status_code == 200, response.data
    assert response.data["ok"] is True and response.data["model"] == "bundled-tiny-en"
    assert "testing" in response.data["text"].lower() and 0 < response.data["seconds"] < 30
    assert response.data["audio_seconds"] == pytest.approx(1.6, abs=0.1)


@pytest.mark.django_db
def test_names_stay_unique(staff, speech_models):
    response = staff.post("/api/stt-models/", {"name": "bundled-base", "model": "bundled:base"}, format="json")

    assert response.status_code == 400 and "already exists" in response.data["errors"]["name"][0]
