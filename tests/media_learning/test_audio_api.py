import io
import time

import av
import numpy as np
import pytest
from django.core.files.base import ContentFile

from knowledge.models import KnowledgeBase
from tests.conftest import fixture_path
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the suite's worker makes the audio


@pytest.fixture
def video_document(user):
    kb = KnowledgeBase.objects.create(name="audio-kb", owner=user)
    doc = DocumentFactory.build(knowledge_base=kb, name="bread.mp4")
    doc.file.save("bread.mp4", ContentFile(fixture_path("bread_en.mp4").read_bytes()), save=True)
    return doc


def rendered(api, url, params=None, timeout=60):
    """The answer once the worker has made the audio (202 with Retry-After until then)."""
    deadline = time.monotonic() + timeout
    while (response := api.get(url, params or {})).status_code == 202:
        assert response["Retry-After"] and time.monotonic() < deadline, "the audio was never made"
        time.sleep(0.2)
    return response


def read_back(content):
    with av.open(io.BytesIO(content)) as container:
        stream = container.streams.audio[0]
        pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(stream)])
        return container.format.name, stream.rate, stream.channels, pcm


@pytest.mark.parametrize(
    ("fmt", "rate", "container"), [("wav", 16000, "wav"), ("mp3", 44100, "mp3"), ("wav", 8000, "wav")]
)
def test_audio_endpoint_extracts_the_track(api, video_document, celery_worker, fmt, rate, container):
    url = f"/api/knowledge/document/{video_document.pk}/audio/"
    first = api.get(url, {"format": fmt, "sample_rate": rate})
    response = rendered(api, url, {"format": fmt, "sample_rate": rate})
    again = api.get(url, {"format": fmt, "sample_rate": rate, "ignored": "1"})

    assert first.status_code == 202 and first.data["status"] == "rendering"
    body = b"".join(response.streaming_content)
    assert again.status_code == 200 and b"".join(again.streaming_content) == body  # made once, then kept
    name, got_rate, channels, pcm = read_back(body)
    assert response.status_code == 200 and response["Content-Type"] == ("audio/wav" if fmt == "wav" else "audio/mpeg")
    assert 'filename="bread.' in response["Content-Disposition"]
    assert (name, got_rate, channels) == (container, rate, 1)
    assert len(pcm) / rate == pytest.approx(13.3, abs=0.2)
    assert np.abs(pcm.astype(np.float32)).max() > 0


def test_audio_endpoint_rejects_bad_parameters_and_bad_media(api, video_document, celery_worker):
    url = f"/api/knowledge/document/{video_document.pk}/audio/"
    bad = api.get(url, {"format": "ogg", "sample_rate": "7"})
    video_document.file.save("v.mp4", ContentFile(fixture_path("video_only.mp4").read_bytes()), save=True)
    silent = rendered(api, url)

    assert bad.status_code == 400 and set(bad.data["errors"]) == {"format", "sample_rate"}
    assert silent.status_code == 422 and "no audio track" in silent.data["detail"]
