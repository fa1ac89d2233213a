"""file_url ingestion downloads through a real HTTP server on loopback, and refuses addresses a
server-side request must not reach: loopback, private, link-local/metadata, also after a redirect
or behind a host name."""

import sys

import pytest

from knowledge.fetch import FetchError, check_url, fetch
from knowledge.models import Document, KnowledgeBase
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


def test_upload_by_url_refuses_loopback_and_a_redirect_to_it(api, kb, web, settings):
    direct = api.post(f"/api/knowledge/{kb.pk}/document/", {"file_url": f"{web.root}/media/jupiter_en.mp3"},
                      format="json")  # fmt: skip
    settings.URL_FETCH_ALLOWLIST = [web.address]  # the first hop is allowed, the redirect target is not
    port = web.address.rsplit(":", 1)[1]
    redirected = api.post(
        f"/api/knowledge/{kb.pk}/document/",
        {"file_url": f"{web.root}/redirect?to=http://127.0.0.2:{port}/media/jupiter_en.mp3"}, format="json",
    )  # fmt: skip
    to_metadata = api.post(
        f"/api/knowledge/{kb.pk}/document/",
        {"file_url": f"{web.root}/redirect?to=http://169.254.169.254/latest/meta-data/"}, format="json",
    )  # fmt: skip

    for response in (direct, redirected, to_metadata):
        assert response.status_code == 400 and response.data["code"] == "fetch_failed"
        assert "not a public address" in response.data["detail"]
    assert "169.254.169.254" in to_metadata.data["detail"]
    assert Document.objects.count() == 0


def test_upload_by_url_downloads_the_media_when_allowed(api, kb, web, settings):
    settings.URL_FETCH_ALLOWLIST = [web.address]

    response = api.post(f"/api/knowledge/{kb.pk}/document/",
                        {"file_url": f"{web.root}/media/jupiter_en.mp3", "priority": "low"})  # fmt: skip

    assert response.status_code == 201, response.data
    (created,) = response.data["documents"]
    doc = Document.objects.get(pk=created["id"])
    assert doc.name == "jupiter_en.mp3" and doc.source_url == f"{web.root}/media/jupiter_en.mp3"
    assert doc.priority == "low" and doc.file.read() == fixture_path("jupiter_en.mp3").read_bytes()


def test_fetch_reports_a_web_page_a_404_and_a_file_over_the_limit(web, settings, monkeypatch):
    settings.URL_FETCH_ALLOWLIST = ["127.0.0.0/8"]
    settings.MAX_UPLOAD_SIZE = 100_000

    with pytest.raises(FetchError, match="is a web page without media that the allowed extractors know"):
        fetch(f"{web.root}/page")  # the url extra is installed; generic pages are not among its extractors
    monkeypatch.setitem(sys.modules, "yt_dlp", None)  # as without the extra: the import fails
    with pytest.raises(FetchError, match="is a web page, not audio or video; install the url extra"):
        fetch(f"{web.root}/page")
    with pytest.raises(FetchError, match="answered 404"):
        fetch(f"{web.root}/missing")
    with pytest.raises(FetchError, match="over the upload limit of 97.7"):
        fetch(f"{web.root}/big")


def test_allowlist_takes_networks_and_address_port_pairs(web, settings):
    port = int(web.address.rsplit(":", 1)[1])
    settings.URL_FETCH_ALLOWLIST = [f"127.0.0.1:{port}", "10.0.0.0/8"]

    check_url(f"http://127.0.0.1:{port}/x")
    check_url("http://10.9.8.7/x")
    with pytest.raises(FetchError):
        check_url(f"http://127.0.0.1:{port + 1}/x")
    with pytest.raises(FetchError):
        check_url("http://192.168.0.1/x")
