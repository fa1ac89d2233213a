"""Transcript export through the API, checked with independent SRT and WebVTT parsers."""

import io

import pytest
import srt
import webvtt
from django.core.files.uploadedfile import SimpleUploadedFile

from knowledge.models import Status
from media_learning.export import to_srt, to_vtt
from media_learning.pipeline.transcribe import MediaTranscript
from stt_models.providers.base import Segment
from tests.conftest import fixture_path, reference_text, wait_for_documents, word_error_rate

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def finished(api, speech_models, celery_worker):
    kb = api.post("/api/knowledge/", {"name": "subs"}, format="json").data["id"]
    response = api.post(
        f"/api/knowledge/{kb}/document/",
        {"file": [SimpleUploadedFile("lecture.mp3", fixture_path("lecture_60s_en.mp3").read_bytes())],
         "word_timestamps": "true", "segment_duration": "30"},
    )  # fmt: skip
    assert response.status_code == 201, response.data
    (doc,) = wait_for_documents([response.data["documents"][0]["id"]])
    assert doc.status == Status.SUCCESS, doc.error
    return doc


def test_transcript_json_srt_vtt_txt_agree(api, finished):
    url = f"/api/knowledge/document/{finished.pk}/transcript/"

    body = api.get(url, {"format": "json", "words": "1"}).json()
    subs = list(srt.parse(api.get(url, {"format": "srt"}).content.decode()))
    vtt = api.get(url, {"format": "vtt"})
    captions = webvtt.from_buffer(io.StringIO(vtt.content.decode()))
    txt = api.get(url, {"format": "txt"})

    segments = body["segments"]
    assert body["language"] == "en" and body["duration"] == pytest.approx(65.1, abs=0.2)
    assert len(subs) == len(captions) == len(segments) >= 8
    assert [s.index for s in subs] == list(range(1, len(subs) + 1))
    for seg, sub, cap in zip(segments, subs, captions, strict=True):
        assert sub.start.total_seconds() == pytest.approx(seg["start"], abs=0.001)
        hours, minutes, seconds = cap.end.split(":")
        assert int(hours) * 3600 + int(minutes) * 60 + float(seconds) == pytest.approx(seg["end"], abs=0.001)
        assert sub.content == cap.text == seg["text"]
        assert seg["words"] and seg["start"] - 0.05 <= seg["words"][0]["start"] <= seg["end"]
    assert vtt["Content-Type"].startswith("text/vtt")
    assert word_error_rate(reference_text("lecture_60s_en"), txt.content.decode()) < 0.2


def test_transcript_rejects_unknown_format_and_unfinished_documents(api, finished):
    url = f"/api/knowledge/document/{finished.pk}/transcript/"

    assert api.get(url, {"format": "docx"}).status_code == 400
    from knowledge.models import Document

    Document.objects.filter(pk=finished.pk).update(status=Status.STARTED)
    assert api.get(url).status_code == 409


def test_exports_escape_and_flatten_cue_text():
    transcript = MediaTranscript(
        language="en", duration=4, segments=[Segment(0, 1.5, "a <b> & c\n\nd"), Segment(3600.25, 3601, "late")]
    )

    vtt = to_vtt(transcript)
    subs = list(srt.parse(to_srt(transcript)))

    assert "a &lt;b&gt; &amp; c d" in vtt and "01:00:00.250 --> 01:00:01.000" in vtt
    assert subs[0].content == "a <b> & c d" and subs[1].start.total_seconds() == 3600.25
