"""Asking about real recordings, end to end: an English lecture and a Mandarin meeting uploaded
with the defaults, transcribed by the real worker with the bundled models, then asked in both
languages (one JSON answer and a stream) with the loopback LLM; the citations open the media at
the moment the answer comes from."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from knowledge.ingest import wait_until_finished
from knowledge.models import Paragraph, Status
from tests.conftest import fixture_path
from tests.knowledge.test_ask import read_events

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_questions_about_real_recordings_cite_their_moments(api, speech_models, language_model, chat_server,
                                                           celery_worker):  # fmt: skip
    language_model.is_default = True
    language_model.save()
    kb = api.post("/api/knowledge/", {"name": "talks"}, format="json").data["id"]
    files = [
        SimpleUploadedFile("lecture.mp3", fixture_path("lecture_60s_en.mp3").read_bytes()),
        SimpleUploadedFile("周会.wav", fixture_path("zh/zh_shared_meeting.wav").read_bytes()),
    ]
    response = api.post(f"/api/knowledge/{kb}/document/", {"file": files})
    assert response.status_code == 201, response.data
    ids = [d["id"] for d in response.data["documents"]]
    rows = wait_until_finished(ids, timeout=300, poll=0.2)
    assert [r.status for r in rows] == [Status.SUCCESS] * 2, [r.error for r in rows]
    lecture, meeting = ids

    english = api.post(f"/api/knowledge/{kb}/ask/", {"question": "How do search engines remember which "
                       "documents contain a word?"}, format="json")  # fmt: skip
    assert english.status_code == 200, english.data
    cited = english.data["citations"][0]
    assert cited["document_id"] == lecture and english.data["language"] == "en"
    assert re.search(r"words", cited["text"], re.I) and cited["end"] > cited["start"] > 0
    assert cited["media_url"].endswith(f"/api/knowledge/document/{lecture}/media/#t={cited['moment']:.2f}")
    # it opens at the sentence that answers, not at the paragraph's start
    cues = {start: text for start, _, text in Paragraph.objects.get(pk=cited["paragraph_id"]).cues}
    assert cited["start"] <= cited["moment"] < cited["end"] and re.search(r"remember", cues[cited["moment"]], re.I)
    media = api.get(cited["media_url"].split("#")[0], HTTP_RANGE="bytes=0-99")
    assert media.status_code == 206

    streamed = api.post(f"/api/knowledge/{kb}/ask/", {"question": "新版本的发布日期定在哪一天", "stream": True},
                        format="json")  # fmt: skip
    events = read_events(streamed)
    final = events[-1][1]
    assert events[-1][0] == "answer" and final["language"] == "zh" and final["answer"].startswith("根据录音")
    assert final["citations"][0]["document_id"] == meeting
    assert re.search(r"十二月|12月", final["citations"][0]["text"])  # the release date, as whisper wrote it
    assert not re.search(r"[發與會說這為]", final["citations"][0]["text"])  # Simplified, as the KB says

    # over the real transcripts too: an invented citation is dropped, a busy LLM is a 503
    chat_server.ask_answers = ["An index finds a row without reading every page [1] [99]."]
    invented = api.post(f"/api/knowledge/{kb}/ask/", {"question": "what does an index let a database do"},
                        format="json").data  # fmt: skip
    assert invented["invalid_citations"] == [99] and invented["answer"].endswith("[1].")
    assert invented["citations"][0]["document_id"] == lecture
    chat_server.script = [429, 429, 429]
    busy = api.post(f"/api/knowledge/{kb}/ask/", {"question": "数据库索引有什么用"}, format="json")
    assert busy.status_code == 503 and busy["Retry-After"]

    out = StringIO()
    call_command("ask", "what does a database index let you do?", "--knowledge", "talks", stdout=out)
    assert re.search(r"^\[\d+\] lecture\.mp3 \d:\d\d-\d:\d\d ", out.getvalue(), re.M), out.getvalue()
