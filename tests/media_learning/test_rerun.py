"""Re-running a finished document with another model or LLM: its old paragraphs answer searches
until the new ones replace them, every run is kept, corrected text is not replaced without being
asked, and an LLM-only change keeps the stored transcript. Real worker, real models."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from knowledge import search
from knowledge.ingest import wait_until_finished
from knowledge.models import Document, KnowledgeBase, Status
from media_learning.models import TranscriptChunk
from tests.conftest import fixture_path

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def done(doc_id: int) -> Document:
    (doc,) = wait_until_finished([doc_id], timeout=240, poll=0.05)
    assert doc.status == Status.SUCCESS, doc.error
    return Document.objects.get(pk=doc_id)


def test_a_finished_document_is_re_run_without_losing_search(api, speech_models, language_model, chat_server,
                                                            celery_worker):  # fmt: skip
    kb_id = api.post("/api/knowledge/", {"name": "talks"}, format="json").data["id"]
    upload = api.post(
        f"/api/knowledge/{kb_id}/document/",
        {"file": [SimpleUploadedFile("lecture.mp3", fixture_path("lecture_60s_en.mp3").read_bytes())]},
    )
    doc = done(upload.data["documents"][0]["id"])  # fmt: skip
    assert doc.stt_model_used.name == "bundled-tiny-en"
    first = doc.paragraphs.order_by("position").first()
    api.patch(f"/api/knowledge/paragraph/{first.pk}/", {"content": first.content + " (checked)"}, format="json")
    url = f"/api/knowledge/document/{doc.pk}/reprocess/"

    refused = api.post(url, {"stt_model_id": "bundled-base"}, format="json")
    assert refused.status_code == 409 and "corrected by hand" in refused.data["detail"]
    accepted = api.post(url, {"stt_model_id": "bundled-base", "replace_corrections": True}, format="json")
    assert accepted.status_code == 202, accepted.data
    kb = KnowledgeBase.objects.get(pk=kb_id)
    during = [h.paragraph.document_id for h in search.search(kb, "the index at the back of a book", top_k=3)]
    state = Document.objects.get(pk=doc.pk).status
    assert state in (Status.PENDING, Status.STARTED) and doc.pk in during  # the old paragraphs still answer
    doc = done(doc.pk)

    assert doc.stt_model_used.name == "bundled-base" and doc.stt_model.name == "bundled-base"
    assert [r.stt_model for r in doc.runs.order_by("attempt")] == ["auto -> bundled-tiny-en", "bundled-base"]
    assert not doc.paragraphs.filter(corrected_at__isnull=False).exists()
    assert doc.pk in [h.paragraph.document_id for h in search.search(kb, "the index at the back of a book", top_k=3)]

    # only the LLM changes: the stored transcript is kept, the paragraphs are polished
    chunks = set(TranscriptChunk.objects.filter(document=doc).values_list("pk", flat=True))
    assert api.post(url, {"llm_model_id": "editor"}, format="json").status_code == 202
    doc = done(doc.pk)
    assert set(TranscriptChunk.objects.filter(document=doc).values_list("pk", flat=True)) == chunks
    assert doc.llm_model.name == "editor" and chat_server.polish_requests()
    assert all(p.content.endswith((".", "!", "?")) for p in doc.paragraphs.filter(kind="transcript"))
    # a new summary prompt is an LLM option: stored apart, the transcript kept again
    options = dict(doc.options)
    assert api.post(url, {"summary_prompt": "In one line."}, format="json").status_code == 202
    doc = done(doc.pk)
    assert set(TranscriptChunk.objects.filter(document=doc).values_list("pk", flat=True)) == chunks
    assert doc.llm_options == {"enable_punctuation": True, "enable_summary": True, "summary_prompt": "In one line."}
    assert doc.options == options and doc.runs.count() == 4

    # the command does the same; "none" drops the LLM
    out = StringIO()
    call_command("reprocess", "--document", str(doc.pk), "--model", "bundled-tiny-en", "--llm", "none", stdout=out)
    assert f"document {doc.pk} (lecture.mp3): queued with bundled-tiny-en" in out.getvalue()
    doc = done(doc.pk)
    assert doc.llm_model is None and doc.stt_model_used.name == "bundled-tiny-en" and doc.runs.count() == 5
    assert doc.llm_options == {}
    bad = api.post(url, {"stt_model_id": "no-such-model"}, format="json")
    assert bad.status_code == 400 and "stt_model_id" in bad.data["errors"]
