"""``/audio/`` (item 9): ``?format=wav&sample_rate=48000`` re-encoded a file in the web thread,
as long as it really was (a file declaring minutes held hours), into a response of gigabytes, as
often as asked. Now a worker makes each rendition once, bounded, and the web thread only serves
it; asking for new ones is throttled."""

import hashlib
import time

import pytest
from django.core.files.base import ContentFile

from knowledge.models import Document, KnowledgeBase, Status
from tests.security.conftest import LiveServer
from tests.security.test_media_length import lying_mp3

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CAP = 5_000_000  # bytes: 52 s of 48 kHz WAV


@pytest.fixture(scope="module")
def live(django_db_setup, tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("live"), AUDIO_RATE="3/minute", AUDIO_EXPORT_MAX_BYTES=str(CAP))
    yield server
    server.stop()


@pytest.fixture
def long_document(people, tmp_path):
    data = lying_mp3(tmp_path).read_bytes()  # declares about 70 s, holds 610 s
    kb = KnowledgeBase.objects.create(name="exports", owner=people.users["alice"])
    doc = Document(knowledge_base=kb, name="call.mp3", sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                   status=Status.SUCCESS, mime="audio/mpeg")  # fmt: skip
    doc.file.save("call.mp3", ContentFile(data), save=True)
    return doc


def test_a_long_export_is_made_by_a_worker_once_and_bounded(people, long_document, celery_worker, settings):
    settings.AUDIO_EXPORT_MAX_BYTES = CAP  # the suite's worker makes it
    url = f"/api/knowledge/document/{long_document.pk}/audio/"
    wanted = {"format": "wav", "sample_rate": "48000"}

    started = time.monotonic()
    first = people.alice.get(url, params=wanted)
    answered = time.monotonic() - started
    deadline = time.monotonic() + 60
    while (answer := people.alice.get(url, params=wanted)).status_code == 202 and time.monotonic() < deadline:
        time.sleep(0.2)

    assert first.status_code == 202 and first.headers["Retry-After"] and answered < 2, (first.status_code, answered)
    assert answer.status_code == 422, answer.status_code
    assert answer.json()["detail"] == "the audio would be larger than 4.8\xa0MB (AUDIO_EXPORT_MAX_BYTES): choose mp3 " \
                                      "or a lower sample_rate"  # fmt: skip


def test_new_renditions_are_throttled_and_finished_ones_are_not(people, long_document, celery_worker):
    url = f"/api/knowledge/document/{long_document.pk}/audio/"

    asked = [people.alice.get(url, params={"format": "mp3", "sample_rate": rate}).status_code
             for rate in ("8000", "11025", "12000", "16000")]  # fmt: skip
    deadline = time.monotonic() + 120
    while people.alice.get(url, params={"format": "mp3", "sample_rate": "8000"}).status_code == 202:
        assert time.monotonic() < deadline
        time.sleep(0.3)
    served = [people.alice.get(url, params={"format": "mp3", "sample_rate": "8000"}) for _ in range(5)]

    assert asked == [202, 202, 202, 429]  # AUDIO_RATE=3/minute
    assert [s.status_code for s in served] == [200] * 5 and len(served[0].content) > 100_000
    assert served[0].headers["content-type"] == "audio/mpeg"
