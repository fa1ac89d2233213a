"""Stored XSS through the media route (item 1) and header injection through names (item 12)."""

import pytest

from knowledge.models import Document, Status
from tests.conftest import fixture_path, wait_for_documents
from tests.security.conftest import knowledge_base

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PAGE = b"<html><body><script>fetch('/admin/auth/user/1/change/',{method:'POST'})</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'
SANDBOXED = {"content-security-policy": "sandbox", "x-content-type-options": "nosniff",
             "cross-origin-resource-policy": "same-origin"}  # fmt: skip


def sandboxed(response) -> bool:
    return all(response.headers.get(name) == value for name, value in SANDBOXED.items())


@pytest.mark.parametrize("name", ["slides.html", "notes.htm", "page.shtml", "logo.svg", "doc.xhtml", "feed.xml"])
def test_an_uploaded_page_is_served_as_an_attachment_never_as_a_page(people, celery_worker, name):
    kb = knowledge_base(people.alice, "mallory's lectures")
    body = SVG if name.endswith(".svg") else PAGE
    upload = people.alice.post(f"/api/knowledge/{kb}/document/", files={"file": (name, body, "text/html")})
    (doc,) = upload.json()["documents"]

    before = people.alice.get(f"/api/knowledge/document/{doc['id']}/media/")  # PENDING: not probed yet
    (finished,) = wait_for_documents([doc["id"]])
    after = people.alice.get(f"/api/knowledge/document/{doc['id']}/media/")

    assert finished.status == Status.FAILURE and finished.error  # not media: it fails with its reason
    for response in (before, after):
        assert response.status_code == 200 and response.content == body
        assert response.headers["content-type"] == "application/octet-stream", response.headers
        assert response.headers["content-disposition"].startswith("attachment;")
        assert sandboxed(response), response.headers


def test_probed_media_plays_inline_and_is_sandboxed_too(people, celery_worker):
    kb = knowledge_base(people.alice, "talks")
    data = fixture_path("jupiter_en.mp3").read_bytes()
    upload = people.alice.post(f"/api/knowledge/{kb}/document/?wait=120", files={"file": ("talk.html", data)})
    (doc,) = upload.json()["documents"]

    full = people.alice.get(f"/api/knowledge/document/{doc['id']}/media/")
    part = people.alice.get(f"/api/knowledge/document/{doc['id']}/media/", headers={"Range": "bytes=0-99"})

    assert doc["status"] == Status.SUCCESS and doc["mime"] == "audio/mpeg"
    assert full.headers["content-type"] == "audio/mpeg" and full.content == data
    assert part.status_code == 206 and part.headers["content-type"] == "audio/mpeg" and len(part.content) == 100
    for response in (full, part):
        assert response.headers["content-disposition"].startswith("inline;") and sandboxed(response)


def test_names_with_line_breaks_and_quotes_stay_one_header_value(people, celery_worker):
    kb = knowledge_base(people.alice, "headers")
    data = fixture_path("jupiter_en.mp3").read_bytes()
    upload = people.alice.post(f"/api/knowledge/{kb}/document/?wait=120",
                               files={"file": ("talk.mp3", data)}, data={"name": 'evil"; filename=x.html'})  # fmt: skip
    (doc,) = upload.json()["documents"]
    Document.objects.filter(pk=doc["id"]).update(name='a\r\nSet-Cookie: session=stolen\r\n"b.mp3')  # an old row

    answers = [people.alice.get(f"/api/knowledge/document/{doc['id']}/transcript/", params={"format": fmt})
               for fmt in ("srt", "vtt", "txt")]  # fmt: skip
    answers.append(people.alice.get(f"/api/knowledge/document/{doc['id']}/media/"))

    for response in answers:
        assert response.status_code == 200, response.text
        disposition = response.headers["content-disposition"]
        assert "\r" not in disposition and "\n" not in disposition and "set-cookie" not in response.headers
        assert disposition.count(";") == 1 and "filename*=utf-8''" in disposition  # one quoted parameter
