"""file_url ingestion downloads through a real HTTP server on loopback, and refuses addresses a
server-side request must not reach: loopback, private, link-local/metadata, also after a redirect
or behind a host name."""

import sys

import pytest

from knowledge.fetch import FetchError, check_url
from knowledge.models import Document, KnowledgeBase
from knowledge.platform_media import fetch_media
from tests.conftest import fixture_path
from tests.knowledge.web_server import WebServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def web():
    with WebServer() as server:
        yield server


@pytest.fixture
def kb(user, speech_models):
    return KnowledgeBase.objects.create(name="fetched", owner=user)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/a.mp3",
        "http://10.0.0.7/a.mp3",
        "http://192.168.1.1/a.mp3",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/a.mp3",
        "http://[::ffff:127.0.0.1]/a.mp3",
        "http://0.0.0.0/a.mp3",
        "http://localhost/a.mp3",
    ],
)
def test_fetch_refuses_addresses_that_are_not_public(url):
    with pytest.raises(FetchError, match="not a public address"):
        check_url(url)


def test_fetch_refuses_other_schemes_and_credentials():
    with pytest.raises(FetchError, match="only http and https"):
        check_url("file:///etc/passwd")
    with pytest.raises(FetchError, match="credentials"):
        check_url("http://user:pw@example.com/a.mp3")


def test_upload_by_url_refuses_loopback_at_once(api, kb, web):
    direct = api.post(f"/api/knowledge/{kb.pk}/document/", {"file_url": f"{web.root}/media/jupiter_en.mp3"},
                      format="json")  # fmt: skip

    assert direct.status_code == 400 and direct.data["code"] == "fetch_failed"
    assert "not a public address" in direct.data["detail"]
    assert Document.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_redirect_to_a_forbidden_address_fails_the_document_in_the_worker(api, kb, web, settings, celery_worker):
    settings.URL_FETCH_ALLOWLIST = [web.address]  # the first hop is allowed, the redirect targets are not
    port = web.address.rsplit(":", 1)[1]
    targets = [f"http://127.0.0.2:{port}/media/jupiter_en.mp3", "http://169.254.169.254/latest/meta-data/"]

    response = api.post(f"/api/knowledge/{kb.pk}/document/?wait=60",
                        {"file_url": [f"{web.root}/redirect?to={t}" for t in targets]}, format="json")  # fmt: skip

    assert response.status_code == 200, response.data
    redirected, to_metadata = response.data["documents"]
    for doc in (redirected, to_metadata):
        assert doc["status"] == "FAILURE" and "not a public address" in doc["error"], doc
        assert doc["media_url"] is None and doc["size"] == 0
    assert "169.254.169.254" in to_metadata["error"]


@pytest.mark.django_db(transaction=True)
def test_upload_by_url_is_downloaded_by_the_worker_when_allowed(api, kb, web, settings, celery_worker):
    settings.URL_FETCH_ALLOWLIST = [web.address]

    response = api.post(f"/api/knowledge/{kb.pk}/document/?wait=120",
                        {"file_url": f"{web.root}/media/jupiter_en.mp3", "priority": "low"})  # fmt: skip

    assert response.status_code == 200, response.data
    (created,) = response.data["documents"]
    doc = Document.objects.get(pk=created["id"])
    assert created["status"] == "SUCCESS" and created["paragraph_count"] >= 1
    assert doc.name == "jupiter_en.mp3" and doc.source_url == f"{web.root}/media/jupiter_en.mp3"
    # the address shows as source_url; file_url is only an upload field (no second name of media_url)
    assert created["source_url"] == doc.source_url and "file_url" not in created
    assert created["media_url"].endswith(f"/api/knowledge/document/{doc.pk}/media/")
    assert doc.priority == "low" and doc.file.read() == fixture_path("jupiter_en.mp3").read_bytes()
    assert doc.size == len(fixture_path("jupiter_en.mp3").read_bytes()) and len(doc.sha256) == 64
    assert "fetch" in doc.runs.get().timings


def test_fetch_reports_a_web_page_a_404_and_a_file_over_the_limit(web, settings, monkeypatch):
    settings.URL_FETCH_ALLOWLIST = ["127.0.0.0/8"]
    settings.MAX_UPLOAD_SIZE = 100_000

    with pytest.raises(FetchError, match="is a web page without media that the allowed extractors know"):
        fetch_media(f"{web.root}/page")  # the url extra is installed; generic pages are not among its extractors
    monkeypatch.setitem(sys.modules, "yt_dlp", None)  # as without the extra: the import fails
    with pytest.raises(FetchError, match="is a web page, not audio or video; install the url extra"):
        fetch_media(f"{web.root}/page")
    with pytest.raises(FetchError, match="answered 404"):
        fetch_media(f"{web.root}/missing")
    with pytest.raises(FetchError, match="over the upload limit of 97.7"):
        fetch_media(f"{web.root}/big")


def test_allowlist_takes_networks_and_address_port_pairs(web, settings):
    port = int(web.address.rsplit(":", 1)[1])
    settings.URL_FETCH_ALLOWLIST = [f"127.0.0.1:{port}", "10.0.0.0/8"]

    check_url(f"http://127.0.0.1:{port}/x")
    check_url("http://10.9.8.7/x")
    with pytest.raises(FetchError):
        check_url(f"http://127.0.0.1:{port + 1}/x")
    with pytest.raises(FetchError):
        check_url("http://192.168.0.1/x")
