"""The conventional parts of the API: filters, ordering and limit/offset; byte ranges on media;
rate limits; JSON errors."""

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from knowledge.models import KnowledgeBase, Status
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db


def make_document(kb, name, **fields):
    doc = DocumentFactory.build(knowledge_base=kb, name=name, **fields)
    doc.file.save(name, ContentFile(bytes(range(256)) * 4), save=False)
    doc.save()
    return doc


@pytest.fixture
def library(user, speech_models):
    talks = KnowledgeBase.objects.create(name="talks", owner=user)
    other = KnowledgeBase.objects.create(name="other", owner=user)
    tiny = speech_models["bundled-tiny-en"]
    docs = [
        make_document(talks, "a.mp3", status=Status.SUCCESS, language="en", duration=30, stt_model=tiny),
        make_document(talks, "b.mp3", status=Status.FAILURE, language="zh", duration=10),
        make_document(talks, "c.mp3", status=Status.STARTED, stage="transcribing", language="en", duration=20),
        make_document(other, "d.mp3", status=Status.SUCCESS, language="en", duration=40, stt_model=tiny),
    ]
    return talks, other, docs


def names(response):
    assert response.status_code == 200, response.data
    return [d["name"] for d in response.data["results"]]


def test_document_list_filters_orders_and_pages(api, library):
    talks, other, docs = library
    url = "/api/knowledge/document/"

    assert names(api.get(url, {"knowledge": talks.pk, "ordering": "name"})) == ["a.mp3", "b.mp3", "c.mp3"]
    assert names(api.get(url, {"status": ["SUCCESS", "FAILURE"], "ordering": "-duration"})) == [
        "d.mp3", "a.mp3", "b.mp3"]  # fmt: skip
    assert names(api.get(url, {"stage": "transcribing"})) == ["c.mp3"]
    assert names(api.get(url, {"language": "zh"})) == ["b.mp3"]
    assert names(api.get(url, {"stt_model": "bundled-tiny-en", "ordering": "name"})) == ["a.mp3", "d.mp3"]
    assert names(api.get(url, {"created_after": docs[2].created_at.isoformat(), "ordering": "name"})) == [
        "c.mp3", "d.mp3"]  # fmt: skip
    page = api.get(url, {"ordering": "name", "limit": 2, "offset": 1})
    assert names(page) == ["b.mp3", "c.mp3"] and page.data["count"] == 4 and "offset=3" in page.data["next"]
    assert names(api.get(f"/api/knowledge/{other.pk}/document/")) == ["d.mp3"]
    bad = api.get(url, {"status": "DONE"})
    assert bad.status_code == 400 and bad.data["code"] == "invalid" and "status" in bad.data["errors"]


def test_media_serves_byte_ranges(api, library):
    doc = library[2][0]
    url = f"/api/knowledge/document/{doc.pk}/media/"
    content = bytes(range(256)) * 4

    whole = api.get(url)
    first = api.get(url, HTTP_RANGE="bytes=0-9")
    tail = api.get(url, HTTP_RANGE="bytes=-5")
    beyond = api.get(url, HTTP_RANGE="bytes=5000-")

    assert whole.status_code == 200 and b"".join(whole.streaming_content) == content
    assert whole["Accept-Ranges"] == "bytes" and whole["X-Content-Type-Options"] == "nosniff"
    assert first.status_code == 206 and first["Content-Range"] == "bytes 0-9/1024"
    assert b"".join(first.streaming_content) == content[:10]
    assert tail.status_code == 206 and b"".join(tail.streaming_content) == content[-5:]
    assert beyond.status_code == 416 and beyond["Content-Range"] == "bytes */1024"
    assert beyond.json()["code"] == "range_not_satisfiable"


def test_uploads_and_searches_are_rate_limited_per_user(api, library, settings):
    talks = library[0]
    settings.UPLOAD_RATE, settings.SEARCH_RATE = "2/minute", "3/minute"
    cache.clear()
    try:
        uploads = [api.post(f"/api/knowledge/{talks.pk}/document/", {"file": SimpleUploadedFile("x.mp3", b"x")},
                            format="multipart").status_code for _ in range(3)]  # fmt: skip
        listing = api.get(f"/api/knowledge/{talks.pk}/document/").status_code  # reading is not uploading
        searches = [api.get(f"/api/knowledge/{talks.pk}/search/", {"q": "x", "mode": "keyword"}) for _ in range(4)]
    finally:
        cache.clear()

    assert uploads == [201, 201, 429] and listing == 200
    assert [s.status_code for s in searches] == [200, 200, 200, 429]
    assert searches[-1].data["code"] == "throttled" and "available in" in searches[-1].data["detail"]
    assert int(searches[-1]["Retry-After"]) > 0


def test_rate_limits_fail_open_when_their_cache_is_down(api, library, settings):
    talks = library[0]
    settings.UPLOAD_RATE = "1/minute"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}  # fmt: skip

    uploads = [api.post(f"/api/knowledge/{talks.pk}/document/", {"file": SimpleUploadedFile("x.mp3", b"x")},
                        format="multipart").status_code for _ in range(2)]  # fmt: skip

    assert uploads == [201, 201]  # an unavailable cache must not turn uploads into 500s
