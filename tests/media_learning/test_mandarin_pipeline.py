"""Mandarin through the whole pipeline with the defaults (the web page sends no model and no
language): real speech fixtures, the real worker and models. auto detects Chinese and hands it
to the multilingual model, the transcript comes out in Simplified characters (or Traditional
where the knowledge base says so), and it is found by a Chinese and an English question."""

import re

import jiwer
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from knowledge.chinese_script import simplified, to_script
from tests.conftest import FIXTURES, fixture_path, wait_for_documents

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REFERENCES = dict(line.split("\t", 1) for line in (FIXTURES / "zh" / "transcripts.tsv").read_text().splitlines())
_NOT_WORD = re.compile(r"[\W_]+")


def upload(name):
    return SimpleUploadedFile(name.split("/")[-1], fixture_path(name).read_bytes())


def chars(text):
    return _NOT_WORD.sub("", text)


def test_mandarin_and_english_with_the_defaults(api, speech_models, celery_worker):
    kb = api.post("/api/knowledge/", {"name": "项目组"}, format="json").data["id"]
    files = [upload("zh/zh_shared_meeting.wav"), upload("zh/zh_shared_06.wav"), upload("jupiter_en.mp3")]

    created = api.post(f"/api/knowledge/{kb}/document/", {"file": files}, format="multipart")
    meeting, health, jupiter = wait_for_documents([d["id"] for d in created.data["documents"]], timeout=300)

    for doc in (meeting, health):
        detail = api.get(f"/api/knowledge/document/{doc.pk}/").data
        assert detail["status"] == "SUCCESS", detail["error"]
        assert (detail["stt_model"], detail["stt_model_used"]) == ("auto", "bundled-base")
        assert (detail["detected_language"], detail["language"]) == ("zh", "zh")
        paragraphs = api.get(f"/api/knowledge/document/{doc.pk}/paragraphs/").data["results"]
        text = "".join(p["content"] for p in paragraphs)
        assert text and simplified(text) == text  # not one Traditional character
        for p in paragraphs:  # what the model wrote is kept beside what is shown
            assert p["raw_content"] == "" or simplified(p["raw_content"]) == p["content"]
        reference = chars(REFERENCES[doc.name])
        assert jiwer.cer(reference, chars(text)) < 0.2, text
    english = api.get(f"/api/knowledge/document/{jupiter.pk}/").data
    assert (english["detected_language"], english["stt_model_used"]) == ("en", "bundled-tiny-en")
    assert english["runs"][0]["stt_model"] == "auto -> bundled-tiny-en"

    meeting_paragraphs = api.get(f"/api/knowledge/document/{meeting.pk}/paragraphs/").data["results"]
    assert len(meeting_paragraphs) >= 3  # 65 s of unpunctuated speech is not one paragraph
    assert all(a["end"] <= b["start"] + 0.01 for a, b in zip(meeting_paragraphs, meeting_paragraphs[1:], strict=False))

    for question in ("发布日期定在哪一天", "when will the new version be released"):
        hits = api.get(f"/api/knowledge/{kb}/search/", {"q": question, "top_k": 3}).data
        assert hits[0]["document_id"] == meeting.pk, (question, hits[0])
        assert hits[0]["media_url"].endswith(f"#t={hits[0]['start']:.2f}")

    # The worker gave the English transcript MiniLM's vector and the Mandarin ones none
    # (knowledge/english_vectors.py); an English question's cosine with English text is mixed.
    kept = {doc.pk: [p.english_embedding is not None for p in doc.paragraphs.all()] for doc in (meeting, jupiter)}
    assert kept[jupiter.pk] and all(kept[jupiter.pk]) and not any(kept[meeting.pk])
    (hit,) = api.get(f"/api/knowledge/{kb}/search/", {"q": "how big is the storm on Jupiter", "top_k": 1,
                                                       "mode": "vector"}).data  # fmt: skip
    assert hit["document_id"] == jupiter.pk and hit["score"] != pytest.approx(hit["vector_score"], abs=1e-4)


def test_a_traditional_chinese_knowledge_base_gets_traditional_transcripts(api, speech_models, celery_worker):
    kb = api.post("/api/knowledge/", {"name": "台灣團隊", "script": "zh-Hant", "language": "zh"}, format="json").data
    created = api.post(f"/api/knowledge/{kb['id']}/document/", {"file": [upload("zh/zh_shared_04.wav")]})
    (doc,) = wait_for_documents([created.data["documents"][0]["id"]])

    text = "".join(doc.paragraphs.values_list("content", flat=True))
    assert doc.status == "SUCCESS" and doc.stt_model_used.name == "bundled-base"
    assert doc.detected_language == ""  # the knowledge base named the language: nothing to detect
    assert to_script(text, "zh-Hant") == text and simplified(text) != text
    hits = api.get(f"/api/knowledge/{kb['id']}/search/", {"q": "数据库备份", "mode": "keyword"}).data
    assert hits and hits[0]["document_id"] == doc.pk  # a Simplified query finds Traditional text
