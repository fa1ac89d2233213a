"""Uploads that name an LLM, end to end: the real broker and worker, the bundled whisper and
embedding models on a real speech fixture, and a real OpenAI-compatible server on loopback."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from knowledge.ingest import wait_until_finished
from knowledge.models import Document, Status
from media_learning.pipeline.split import build_paragraphs
from media_learning.pipeline.transcribe import load_transcript
from tests.conftest import fixture_path

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def upload(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, fixture_path(name).read_bytes())


@pytest.fixture
def kb_id(api, speech_models):
    return api.post("/api/knowledge/", {"name": "Talks"}, format="json").data["id"]


def test_upload_with_llm_polishes_keeps_timestamps_and_indexes_the_summary(
    api, kb_id, language_model, chat_server, celery_worker
):
    chat_server.delay = 0.4  # long enough to watch the polishing stage
    response = api.post(
        f"/api/knowledge/{kb_id}/document/",
        {"file": [upload("lecture_60s_en.mp3")], "llm_model_id": "editor", "summary_prompt": "Summarise briefly."},
    )
    assert response.status_code == 201, response.data
    doc_id = response.data["documents"][0]["id"]
    seen: list[tuple[str, float]] = []
    wait_until_finished([doc_id], timeout=180, poll=0.05,
                        on_poll=lambda rows: seen.extend((r["stage"], r["progress"]) for r in rows))  # fmt: skip

    detail = api.get(f"/api/knowledge/document/{doc_id}/").data
    assert detail["status"] == Status.SUCCESS, detail["error"]
    assert detail["warnings"] == [] and detail["llm_model"] == "editor"
    assert detail["llm_options"] == {"enable_punctuation": True, "enable_summary": True,
                                     "summary_prompt": "Summarise briefly."}  # fmt: skip
    assert not set(detail["options"]) & {"enable_punctuation", "enable_summary", "summary_prompt"}
    # the stages in order, with polishing's own progress between transcribing and indexing
    # (indexing can take 20 ms, shorter than a poll: the run's timings record every stage it ran)
    stages = [stage for i, (stage, _) in enumerate(seen) if stage and (i == 0 or seen[i - 1][0] != stage)]
    order = {"transcribing": 0, "polishing": 1, "indexing": 2}
    assert "polishing" in stages and [order[s] for s in stages if s in order] == sorted(
        order[s] for s in stages if s in order
    )
    assert {"detect", "transcribe", "polish", "index"} <= set(detail["runs"][-1]["timings"])
    polishing = [p for stage, p in seen if stage == "polishing"]
    assert 0.7 <= min(polishing) <= max(polishing) <= 0.9 and len(set(polishing)) >= 2

    paragraphs = api.get(f"/api/knowledge/document/{doc_id}/paragraphs/").data["results"]
    transcript = [p for p in paragraphs if p["kind"] == "transcript"]
    summary = [p for p in paragraphs if p["kind"] == "summary"]
    raw = build_paragraphs(load_transcript(Document.objects.get(pk=doc_id)).segments,
                           max_chars=settings.PARAGRAPH_MAX_CHARS, min_chars=settings.PARAGRAPH_MIN_CHARS,
                           pause=settings.PARAGRAPH_PAUSE_SECONDS)  # fmt: skip
    assert [(p["start"], p["end"]) for p in transcript] == [(round(d.start, 3), round(d.end, 3)) for d in raw]
    assert [p["raw_content"] for p in transcript] == [d.content for d in raw]
    assert all(p["content"][0].isupper() and p["content"].endswith((".", "!", "?")) for p in transcript)

    assert detail["summary"].startswith("Summary: ") and summary
    assert " ".join(p["content"] for p in summary) == detail["summary"]
    assert summary[0]["start"] == 0.0 and summary[0]["end"] == transcript[-1]["end"]
    assert chat_server.summary_requests()[0]["messages"][0]["content"].startswith("Summarise briefly.")

    usage = detail["llm_usage"]
    assert usage["model"] == "editor" and usage["requests"] == len(chat_server.requests)
    assert usage["prompt_tokens"] == chat_server.answered_tokens["prompt"]
    assert usage["total_tokens"] == sum(chat_server.answered_tokens.values())

    export = f"/api/knowledge/document/{doc_id}/transcript/"
    polished_srt = api.get(export, {"format": "srt", "source": "paragraphs"}).content.decode()
    as_json = api.get(export, {"format": "json"}).json()
    assert all(p["content"] in polished_srt for p in transcript) and "Summary" not in polished_srt
    assert as_json["summary"] == detail["summary"] and as_json["segments"][0]["text"] in transcript[0]["raw_content"]

    url = f"/api/knowledge/{kb_id}/search/"
    by_meaning = api.get(url, {"q": detail["summary"], "top_k": 3}).data  # it shares words with paragraph 1
    by_word = api.get(url, {"q": "summary", "mode": "keyword"}).data  # only the summary says "Summary"
    assert "summary" in [h["kind"] for h in by_meaning]
    assert [h["kind"] for h in by_word] == ["summary"] * len(summary) and by_word[0]["document_id"] == doc_id
    assert by_word[0]["media_url"].endswith("#t=0.00")


def test_llm_down_still_reaches_success_with_the_raw_transcript_and_a_warning(
    api, kb_id, language_model, chat_server, celery_worker
):
    chat_server.script = [500, 503, 500]
    response = api.post(f"/api/knowledge/{kb_id}/document/", {"file": [upload("jupiter_en.mp3")],
                                                              "llm_model_id": str(language_model.pk)})  # fmt: skip
    doc_id = response.data["documents"][0]["id"]
    wait_until_finished([doc_id], timeout=120, poll=0.2)

    detail = api.get(f"/api/knowledge/document/{doc_id}/").data
    assert detail["status"] == Status.SUCCESS, detail["error"]
    (warning,) = detail["warnings"]
    assert warning.startswith("LLM step incomplete, raw transcript kept: the LLM failed 3 times: HTTP 500")
    assert detail["summary"] == "" and detail["llm_usage"]["failed_requests"] == 3
    paragraphs = api.get(f"/api/knowledge/document/{doc_id}/paragraphs/").data["results"]
    assert paragraphs and all(p["kind"] == "transcript" and p["raw_content"] == "" for p in paragraphs)
    assert "jupiter" in " ".join(p["content"] for p in paragraphs).lower()
    language_model.refresh_from_db()
    assert language_model.check_error == ""  # an outage is not a configuration problem


def test_rejected_key_is_reported_on_the_document_and_on_the_model(
    api, kb_id, language_model, chat_server, celery_worker, monkeypatch
):
    monkeypatch.setenv("TEST_LLM_KEY", "sk-revoked-42")
    response = api.post(f"/api/knowledge/{kb_id}/document/", {"file": [upload("jupiter_en.mp3")],
                                                              "llm_model_id": "editor"})  # fmt: skip
    doc_id = response.data["documents"][0]["id"]
    wait_until_finished([doc_id], timeout=120, poll=0.2)

    detail = api.get(f"/api/knowledge/document/{doc_id}/").data
    assert detail["status"] == Status.SUCCESS and detail["paragraph_count"] >= 1
    expected = "the LLM API rejected the key from TEST_LLM_KEY (401)"
    (warning,) = detail["warnings"]
    assert warning.startswith(f"LLM step incomplete, raw transcript kept: {expected}; paragraph")
    assert warning.endswith("kept as transcribed; no summary")
    assert chat_server.attempts == 1  # not retried
    language_model.refresh_from_db()
    assert language_model.check_error == expected
    assert "sk-revoked-42" not in str(detail) and "sk-revoked-42" not in language_model.check_error


def test_upload_llm_choices_are_validated(api, kb_id, language_model):
    url = f"/api/knowledge/{kb_id}/document/"

    unknown = api.post(url, {"file": [upload("jupiter_en.mp3")], "llm_model_id": "nope"})
    no_default = api.post(url, {"file": [upload("jupiter_en.mp3")], "enable_summary": "true"})
    prompt_without_summary = api.post(url, {"file": [upload("jupiter_en.mp3")], "llm_model_id": "editor",
                                            "enable_summary": "false", "summary_prompt": "x"})  # fmt: skip
    not_boolean = api.post(url, {"file": [upload("jupiter_en.mp3")], "llm_model_id": "editor",
                                 "enable_punctuation": "maybe"})  # fmt: skip
    summary_only = api.post(url, {"file": [upload("jupiter_en.mp3")], "llm_model_id": "editor",
                                  "enable_punctuation": "false"})  # fmt: skip

    assert unknown.status_code == 400 and "unknown LLM 'nope'" in unknown.data["errors"]["llm_model_id"][0]
    assert no_default.status_code == 400 and "no default LLM" in no_default.data["errors"]["llm_model_id"][0]
    assert prompt_without_summary.status_code == 400 and "summary_prompt" in prompt_without_summary.data["errors"]
    assert not_boolean.status_code == 400 and "enable_punctuation" in not_boolean.data["errors"]
    assert summary_only.status_code == 201, summary_only.data
    created = summary_only.data["documents"][0]
    assert created["llm_model"] == "editor"
    assert created["llm_options"] == {"enable_punctuation": False, "enable_summary": True}
    assert created["options"] == {}


def test_ingest_command_takes_an_llm_and_its_options(speech_models, language_model, chat_server, celery_worker,
                                                     capsys):  # fmt: skip
    import json

    from django.core.management import call_command

    call_command(
        "ingest", str(fixture_path("jupiter_en.mp3")), "--knowledge", "cli-llm", "--llm-model", "editor",
        "--option", "enable_punctuation=false", "--option", "summary_prompt=One line, please.",
        "--wait", "--json", "--timeout", "120",
    )  # fmt: skip

    (doc,) = json.loads(capsys.readouterr().out)
    assert doc["status"] == Status.SUCCESS and doc["warnings"] == []
    assert doc["llm_model"] == "editor" and doc["summary"].startswith("Summary: ")
    assert doc["llm_options"] == {"enable_punctuation": False, "enable_summary": True,
                                  "summary_prompt": "One line, please."}  # fmt: skip
    assert chat_server.polish_requests() == [] and len(chat_server.summary_requests()) == 1
    assert chat_server.summary_requests()[0]["messages"][0]["content"].startswith("One line, please.")
    kinds = [p["kind"] for p in doc["paragraphs"]]
    assert kinds[-1] == "summary" and set(kinds[:-1]) == {"transcript"}
    assert all(p["raw_content"] == "" for p in doc["paragraphs"])
