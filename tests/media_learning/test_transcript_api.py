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
from tests.factories import DocumentFactory

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


@pytest.mark.django_db(transaction=False)
def test_exports_are_in_the_knowledge_bases_script_without_invented_phrases(api, user):
    from knowledge.models import KnowledgeBase
    from media_learning.models import TranscriptChunk

    kb = KnowledgeBase.objects.create(name="會議", owner=user)  # zh-Hans, the default
    doc = DocumentFactory(knowledge_base=kb, name="周会.wav", status=Status.SUCCESS)
    said = {"start": 0.0, "end": 4.0, "text": "我們開始今天的會議", "no_speech_prob": 0.01, "avg_logprob": -0.2,
            "words": [{"start": 0.0, "end": 1.0, "word": "我們", "probability": 0.9}]}  # fmt: skip
    invented = {"start": 5.0, "end": 8.0, "text": "字幕由Amara.org社区提供", "no_speech_prob": 0.8, "avg_logprob": -1.2,
                "words": None}  # fmt: skip
    TranscriptChunk.objects.create(document=doc, index=0, start=0, end=8, language="zh", segments=[said, invented],
                                   fingerprint="f")  # fmt: skip
    url = f"/api/knowledge/document/{doc.pk}/transcript/"

    as_json = api.get(url, {"format": "json", "words": "true"}).json()
    subtitles = api.get(url, {"format": "srt"}).content.decode()

    assert [s["text"] for s in as_json["segments"]] == ["我们开始今天的会议"]
    assert as_json["segments"][0]["words"][0]["word"] == "我们"
    assert "我们开始今天的会议" in subtitles and "Amara" not in subtitles and "會" not in subtitles
