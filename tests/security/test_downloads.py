"""file_url downloads: yt-dlp fetching internal addresses a page linked to (item 3), and a host
that trickles one byte a second past URL_FETCH_TIMEOUT while a web thread waited (item 7)."""

import tempfile
import time

import pytest

from knowledge.models import Document, Status
from tests.conftest import fixture_path, wait_for_documents
from tests.security.attacker import RecordingServer
from tests.security.conftest import knowledge_base

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MP3 = fixture_path("jupiter_en.mp3").read_bytes()


def page(video_url: str) -> tuple[bytes, str]:
    html = f'<html><head><title>Quarterly review</title></head><body><video src="{video_url}"></video></body></html>'
    return html.encode(), "text/html; charset=utf-8"


@pytest.fixture
def internal():
    """A service inside the network (a metadata endpoint, an admin API) holding a file."""
    with RecordingServer(files={"/secret.mp3": (MP3, "audio/mpeg")}) as server:
        yield server


@pytest.fixture(scope="module")
def live(live_allowing_site):
    return live_allowing_site


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """The worker's temporary folder, watched for what downloads leave behind."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def leftovers(folder) -> list:
    """What downloads left in the temporary folder (torch keeps its own cache there)."""
    return [p.name for p in folder.iterdir() if p.name.startswith(("fetch-", "yt-dlp-"))]


def upload_url(people, url: str, **data) -> dict:
    kb = knowledge_base(people.alice, f"from the web {time.monotonic_ns()}")
    response = people.alice.post(f"/api/knowledge/{kb}/document/?wait=120", json={"file_url": url, **data})
    assert response.status_code in (200, 202), response.text
    return response.json()["documents"][0]


def test_a_page_that_links_an_internal_address_gets_nothing_from_it(people, celery_worker, site, internal, scratch,
                                                                     settings):  # fmt: skip
    site.files["/talk"] = page(f"{internal.root}/secret.mp3")
    settings.URL_EXTRACTORS = ["default"]  # generic pages too: the guard, not the extractor list, must hold

    doc = upload_url(people, f"{site.root}/talk")

    assert doc["status"] == Status.FAILURE and "not a public address" in doc["error"], doc
    assert internal.requests == []
    assert Document.objects.get(pk=doc["id"]).file.name == ""
    assert leftovers(scratch) == []  # yt-dlp's folder and the download are gone


def test_a_page_that_links_media_on_an_allowed_host_is_downloaded_through_the_guard(people, celery_worker, site,
                                                                                    scratch, settings):  # fmt: skip
    site.files.update({"/media.mp3": (MP3, "audio/mpeg"), "/talk": page(f"{site.root}/media.mp3")})
    settings.URL_EXTRACTORS = ["default"]

    doc = upload_url(people, f"{site.root}/talk")

    assert doc["status"] == Status.SUCCESS and doc["paragraph_count"] >= 1, doc
    assert doc["name"].startswith("Quarterly review") and doc["name"].endswith(".mp3") and doc["size"] == len(MP3)
    assert [r["path"] for r in site.requests] == ["/talk", "/talk", "/media.mp3"]  # ours, yt-dlp's, the media
    assert leftovers(scratch) == []


def test_generic_pages_are_not_extracted_by_default(people, celery_worker, site, internal):
    site.files["/talk"] = page(f"{internal.root}/secret.mp3")

    doc = upload_url(people, f"{site.root}/talk")

    assert doc["status"] == Status.FAILURE and "URL_EXTRACTORS" in doc["error"], doc
    assert internal.requests == []


@pytest.mark.parametrize("via_page", [False, True], ids=["file", "platform-page"])
def test_a_trickling_host_is_cut_off_at_the_deadline_and_no_web_thread_waits(people, celery_worker, site, scratch,
                                                                             settings, via_page):  # fmt: skip
    site.files.update({"/slow.mp3": (MP3, "audio/mpeg"), "/talk": page(f"{site.root}/slow.mp3")})
    site.trickle["/slow.mp3"] = 1.0
    settings.URL_EXTRACTORS = ["default"]
    settings.URL_FETCH_TIMEOUT = 4
    kb = knowledge_base(people.alice, "slow")

    started = time.monotonic()
    answer = people.alice.post(f"/api/knowledge/{kb}/document/",
                               json={"file_url": f"{site.root}/{'talk' if via_page else 'slow.mp3'}"})  # fmt: skip
    answered = time.monotonic() - started
    (doc,) = wait_for_documents([answer.json()["documents"][0]["id"]], timeout=60)
    finished = time.monotonic() - started

    assert answer.status_code == 201 and answered < 3, answered  # the request does not wait for the host
    assert doc.status == Status.FAILURE and "took longer than 4 s (URL_FETCH_TIMEOUT)" in doc.error, doc.error
    assert finished < 20, finished
    assert leftovers(scratch) == []
