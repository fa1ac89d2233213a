"""The REST API end to end: uploads go through the real broker to a real worker."""

import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from knowledge.models import Document, Status
from knowledge.search import warm as search_warm
from tests.conftest import fixture_path, reference_text, wait_for_documents, word_error_rate

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def upload(name, content=None):
    data = fixture_path(name).read_bytes() if content is None else content
    return SimpleUploadedFile(name, data)


@pytest.fixture
def kb_id(api, speech_models):
    response = api.post("/api/knowledge/", {"name": "Lectures", "description": "talks"}, format="json")
    assert response.status_code == 201, response.data
    return response.data["id"]


def test_upload_mp3_and_mp4_batch_then_search_lands_on_the_spoken_moment(api, kb_id, celery_worker):
    response = api.post(
        f"/api/knowledge/{kb_id}/document/",
        {"file": [upload("jupiter_en.mp3"), upload("bread_en.mp4")], "stt_model_id": "bundled-tiny-en"},
        format="multipart",
    )
    assert response.status_code == 201, response.data
    created = response.data["documents"]
    assert [d["status"] for d in created] == [Status.PENDING, Status.PENDING]

    docs = wait_for_documents([d["id"] for d in created])

    for doc, stem in zip(docs, ["jupiter_en", "bread_en"], strict=True):
        detail = api.get(f"/api/knowledge/document/{doc.pk}/").data
        assert detail["status"] == Status.SUCCESS, detail["error"]
        assert detail["progress"] == 1.0 and detail["stage"] == "" and detail["language"] == "en"
        assert detail["paragraph_count"] >= 1 and detail["duration"] == pytest.approx(12.4, abs=1.2)
        assert set(detail["status_meta"]) == {"PENDING", "STARTED", "SUCCESS"}
        (run,) = detail["runs"]
        assert run["attempt"] == 1 and run["outcome"] == "SUCCESS" and run["stt_model"] == "bundled-tiny-en"
        assert f"pid {os.getpid()}" in doc.runs.get().worker and set(run["timings"]) == {
            "detect",
            "transcribe",
            "index",
        }
        assert run["seconds"] >= sum(run["timings"].values()) - 0.01
        assert "traceback" not in run and "worker" not in run  # code paths, hosts and pids are for staff
        paragraphs = api.get(f"/api/knowledge/document/{doc.pk}/paragraphs/").data["results"]
        assert all(0 <= p["start"] < p["end"] <= detail["duration"] + 0.5 for p in paragraphs)
        assert word_error_rate(reference_text(stem), " ".join(p["content"] for p in paragraphs)) < 0.3
    assert docs[1].mime == "video/mp4" and docs[0].mime == "audio/mpeg"
    from django_celery_results.models import TaskResult

    results = TaskResult.objects.filter(task_id__in=[d.task_id for d in docs])
    assert sorted(results.values_list("status", flat=True)) == ["SUCCESS", "SUCCESS"]  # results live in the DB

    hits = api.get(f"/api/knowledge/{kb_id}/search/", {"q": "knead the dough and let it rise", "top_k": 3}).data

    assert hits[0]["document_id"] == docs[1].pk
    assert "dough" in hits[0]["content"].lower()
    assert hits[0]["start"] < hits[0]["end"] and hits[0]["score"] > hits[-1]["score"]
    assert hits[0]["media_url"].endswith(f"#t={hits[0]['start']:.2f}")
    listing = api.get(f"/api/knowledge/{kb_id}/document/", {"status": "SUCCESS"}).data
    assert listing["count"] == 2


def test_bad_uploads_fail_alone_with_a_reason_within_seconds(api, kb_id, celery_worker):
    truncated = fixture_path("bread_en.mp4").read_bytes()[:30000]
    files = [
        upload("empty.mp3", b""),
        upload("notes.mp3", b"not audio at all\n" * 50),
        upload("cut.mp4", truncated),
        upload("video_only.mp4"),
        upload("jupiter_en.mp3"),
    ]

    response = api.post(f"/api/knowledge/{kb_id}/document/", {"file": files}, format="multipart")
    assert response.status_code == 201, response.data
    docs = wait_for_documents([d["id"] for d in response.data["documents"]], timeout=60)

    by_name = {d.name: d for d in docs}
    assert by_name["jupiter_en.mp3"].status == Status.SUCCESS
    expected = {
        "empty.mp3": "the file is empty",
        "notes.mp3": "cannot read the file as audio or video",
        "cut.mp4": "damaged or truncated",
        "video_only.mp4": "no audio track",
    }
    for name, reason in expected.items():
        doc = by_name[name]
        assert doc.status == Status.FAILURE and reason in doc.error and "\n" not in doc.error
        assert doc.paragraph_count == 0
        finished = doc.status_meta["FAILURE"]
        assert finished >= doc.status_meta["PENDING"]
        (run,) = api.get(f"/api/knowledge/document/{doc.pk}/").data["runs"]
        assert (run["outcome"], run["error_type"]) == ("FAILURE", "MediaError") and reason in run["error"]


def test_cancel_while_transcribing_ends_revoked_without_paragraphs(api, kb_id, celery_worker):
    import time

    from knowledge.models import Document

    response = api.post(f"/api/knowledge/{kb_id}/document/", {"file": [upload("lecture_60s_en.mp3")]})
    doc_id = response.data["documents"][0]["id"]
    deadline = time.monotonic() + 60
    while Document.objects.get(pk=doc_id).status != Status.STARTED:
        assert time.monotonic() < deadline, "document never started"
        time.sleep(0.05)

    cancel = api.post(f"/api/knowledge/document/{doc_id}/cancel/")
    asked = time.monotonic()

    assert cancel.status_code == 202 and cancel.data["status"] in (Status.REVOKE, Status.REVOKED)
    (doc,) = wait_for_documents([doc_id], timeout=60)
    assert time.monotonic() - asked < 15  # stopped at the next progress check, not at the end
    assert doc.status == Status.REVOKED and doc.paragraph_count == 0
    assert [r.outcome for r in doc.runs.all()] == ["REVOKED"]
    assert api.post(f"/api/knowledge/document/{doc_id}/cancel/").status_code == 409

    again = api.post(f"/api/knowledge/document/{doc_id}/reprocess/")

    assert again.status_code == 202 and again.data["status"] == Status.PENDING
    (doc,) = wait_for_documents([doc_id], timeout=120)
    assert doc.status == Status.SUCCESS and doc.paragraph_count >= 2


def test_upload_rejects_unknown_model_and_bad_language_with_400(api, kb_id):
    url = f"/api/knowledge/{kb_id}/document/"

    unknown = api.post(url, {"file": [upload("jupiter_en.mp3")], "stt_model_id": "no-such-model"})
    chinese_on_english_model = api.post(
        url, {"file": [upload("jupiter_en.mp3")], "language": "zh", "stt_model_id": "bundled-tiny-en"}
    )
    no_file = api.post(url, {"language": "en"})

    assert unknown.status_code == 400 and "unknown speech model" in unknown.data["errors"]["stt_model_id"][0]
    assert (
        chinese_on_english_model.status_code == 400
        and "English-only" in chinese_on_english_model.data["errors"]["language"][0]
    )
    assert no_file.status_code == 400 and "file" in no_file.data["errors"]
    assert api.get(url).data["count"] == 0


def test_api_requires_auth_and_hides_other_users_knowledge(api, kb_id, django_user_model):
    from rest_framework.test import APIClient

    anonymous = APIClient()
    bob = APIClient()
    bob.force_authenticate(django_user_model.objects.create_user("bob", password="pw-bob-123"))

    assert anonymous.get("/api/knowledge/").status_code == 401
    assert bob.get("/api/knowledge/").data["count"] == 0
    assert bob.get(f"/api/knowledge/{kb_id}/search/", {"q": "x"}).status_code == 404
    assert api.get("/api/knowledge/").data["results"][0]["name"] == "Lectures"


def test_health_reports_database_broker_and_worker(api, staff, client, celery_worker):
    anonymous = client.get("/api/health/")
    user = api.get("/api/health/")
    response = staff.get("/api/health/")

    body = response.json()
    assert anonymous.status_code == 200 and set(anonymous.json()) == {"status", "ready"}  # probes see no details
    assert user.json()["status"] == "ok" and set(user.json()) == {"status", "ready"}  # nor do ordinary users
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["database"]["detail"].startswith("pgvector 0.8")
    assert body["broker"]["ok"] and body["queue"]["ok"] and isinstance(body["queue"]["depth"], int)
    workers = body["workers"]
    assert workers["ok"] and workers["count"] >= 1
    assert workers["held"][celery_worker.hostname]["pool"] == "solo"
    assert set(workers["held"][celery_worker.hostname]) == {"pool", "speech_models", "embedding_models", "warm"}
    assert workers["held"][celery_worker.hostname]["warm"] is True  # the suite's worker does not warm up
    assert body["ready"] is search_warm()


def test_health_is_503_with_the_reason_when_the_broker_is_down(tmp_path):
    import subprocess
    import sys

    from tests.processes import ROOT, process_env

    env = process_env("health", CELERY_BROKER_URL="redis://:s3cret-pw@127.0.0.1:1/0")
    code = (
        "import django; django.setup(); from django.test import Client; "
        "from django.contrib.auth.models import User; c = Client(); "
        "c.force_login(User.objects.get_or_create(username='health-probe', is_staff=True)[0]); "
        "r = c.get('/api/health/', HTTP_HOST='localhost'); print(r.status_code); print(r.content.decode())"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip

    status_line, body = done.stdout.split("\n", 1)
    assert status_line == "503", done.stderr[-2000:]
    assert '"status":"degraded"' in body.replace(" ", "") and "s3cret-pw" not in body
    assert '"broker":{"ok":false' in body.replace(" ", "")


def test_health_details_never_show_url_credentials():
    from knowledge.api.health import _redact

    message = "OperationalError: cannot connect to amqp://guest:s3cret@rabbit:5672// and postgres://u:pw@db/kb"

    assert _redact(message) == "OperationalError: cannot connect to amqp://***@rabbit:5672// and postgres://***@db/kb"


def test_upload_options_are_validated_and_recorded(api, kb_id):
    url = f"/api/knowledge/{kb_id}/document/"

    bad = api.post(url, {"file": [upload("jupiter_en.mp3")], "segment_duration": "1", "temperature": "2"})
    good = api.post(url, {"file": [upload("jupiter_en.mp3")], "stt_model_id": "bundled-base", "language": "zh",
                          "temperature": ["0", "0.2"], "word_timestamps": "1"})  # fmt: skip

    assert bad.status_code == 400 and set(bad.data["errors"]) == {"segment_duration", "temperature"}
    assert good.status_code == 201, good.data
    assert good.data["documents"][0]["options"] == {
        "language": "zh",
        "temperature": [0.0, 0.2],
        "word_timestamps": True,
    }
    assert good.data["documents"][0]["llm_options"] == {}
    assert good.data["documents"][0]["stt_model"] == "bundled-base"


def test_upload_over_the_size_limit_is_a_413_and_stores_nothing(api, kb_id, settings):
    settings.MAX_UPLOAD_SIZE = 40_000
    files = [upload("jupiter_en.mp3"), upload("small.mp3", b"x" * 100)]

    response = api.post(f"/api/knowledge/{kb_id}/document/", {"file": files}, format="multipart")

    assert response.status_code == 413
    assert response.json() == {
        "code": "file_too_large",
        "detail": "larger than the upload limit of 39.1\xa0KB (40000 bytes, MAX_UPLOAD_SIZE): jupiter_en.mp3",
    }
    assert not Document.objects.exists()
