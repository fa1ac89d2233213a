"""No paying twice: the same media with the same speech model and transcription options reuses
a finished transcript (and its vectors) instead of transcribing again, across knowledge bases
without telling anyone about documents they cannot read; a knowledge base may refuse duplicates."""

from __future__ import annotations

import time

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from knowledge.ingest import wait_until_finished
from knowledge.models import Document, Status
from tests.conftest import fixture_path

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def upload(client, kb, name="lecture.mp3", fixture="lecture_60s_en.mp3", **fields):
    files = {"file": [SimpleUploadedFile(name, fixture_path(fixture).read_bytes())], **fields}
    return client.post(f"/api/knowledge/{kb}/document/", files)


def finished(response) -> Document:
    assert response.status_code == 201, response.data
    (doc,) = wait_until_finished([response.data["documents"][0]["id"]], timeout=180, poll=0.05)
    assert doc.status == Status.SUCCESS, doc.error
    return Document.objects.get(pk=doc.pk)


def vectors(doc: Document) -> np.ndarray:
    return np.vstack([np.asarray(v) for v in doc.paragraphs.order_by("position").values_list("embedding", flat=True)])


def test_the_same_media_is_transcribed_once(api, speech_models, celery_worker, django_user_model):
    kb = api.post("/api/knowledge/", {"name": "talks"}, format="json").data["id"]
    first = finished(upload(api, kb))

    started = time.monotonic()
    second = finished(upload(api, kb, name="the same lecture again.mp3"))
    seconds = time.monotonic() - started
    print(f"dedup re-upload: upload to SUCCESS in {seconds:.2f} s")  # quoted in the note

    run = second.runs.get()
    assert second.reused_from_id == first.pk and "reuse" in run.timings and "transcribe" not in run.timings
    assert run.timings["reuse"] < 0.5 and seconds < 3.0
    assert second.stt_model_used_id == first.stt_model_used_id and second.duration == first.duration
    assert list(second.paragraphs.values_list("content", "start", "end")) == list(
        first.paragraphs.values_list("content", "start", "end")
    )
    assert np.array_equal(vectors(second), vectors(first))  # the vectors were reused, not recomputed
    assert api.get(f"/api/knowledge/document/{second.pk}/").data["reused_from"] == first.pk

    # other transcription options: a transcript of its own
    other = finished(upload(api, kb, name="with words.mp3", word_timestamps="true"))
    assert other.reused_from_id is None and "transcribe" in other.runs.get().timings

    # another user's knowledge base: reused, but nothing about alice's document is shown to bob
    bob = APIClient()
    bob.force_authenticate(django_user_model.objects.create_user("bob", password="pw-bob-12345"))
    theirs = bob.post("/api/knowledge/", {"name": "bob's"}, format="json").data["id"]
    copy = finished(upload(bob, theirs, name="mine.mp3"))
    assert copy.reused_from_id in (first.pk, second.pk) and "transcribe" not in copy.runs.get().timings
    shown = bob.get(f"/api/knowledge/document/{copy.pk}/").data
    assert shown["reused_from"] is None and shown["status"] == Status.SUCCESS


def test_a_knowledge_base_may_refuse_duplicates(api, speech_models, celery_worker):
    kb = api.post("/api/knowledge/", {"name": "strict", "duplicates": "refuse"}, format="json").data
    assert kb["duplicates"] == "refuse"
    first = upload(api, kb["id"])
    assert first.status_code == 201

    again = upload(api, kb["id"], name="again.mp3")
    twice = api.post(f"/api/knowledge/{kb['id']}/document/", {"file": [
        SimpleUploadedFile("a.mp3", fixture_path("jupiter_en.mp3").read_bytes()),
        SimpleUploadedFile("b.mp3", fixture_path("jupiter_en.mp3").read_bytes())]})  # fmt: skip

    assert again.status_code == 409 and again.data["code"] == "conflict"
    assert again.data["document"]["id"] == first.data["documents"][0]["id"]
    assert "already in this knowledge base as document" in again.data["detail"]
    assert twice.status_code == 409 and "in this upload" in twice.data["detail"]
    assert Document.objects.filter(knowledge_base_id=kb["id"]).count() == 1  # nothing else was stored
    other = api.post("/api/knowledge/", {"name": "lenient"}, format="json").data["id"]
    lenient = upload(api, other)
    assert lenient.status_code == 201  # the default reuses instead
    again = api.post("/api/knowledge/", {"name": "compare", "duplicates": "again"}, format="json").data["id"]
    anew = upload(api, again)
    ids = [first.data["documents"][0]["id"], lenient.data["documents"][0]["id"], anew.data["documents"][0]["id"]]
    assert [d.status for d in wait_until_finished(ids, timeout=180, poll=0.1)] == [Status.SUCCESS] * 3
    reused, transcribed = (Document.objects.get(pk=pk) for pk in ids[1:])
    assert reused.reused_from_id == ids[0] and transcribed.reused_from_id is None
    assert "transcribe" in transcribed.runs.get().timings  # "again": transcribed anew
