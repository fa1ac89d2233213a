"""Management commands go through the same functions and the same real worker as the API."""

import json
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command

from knowledge.models import Document, KnowledgeBase, Status
from tests.conftest import fixture_path, wait_for_documents
from tests.factories import DocumentFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_ingest_wait_json_prints_final_documents_with_paragraphs(speech_models, celery_worker, capsys):
    call_command(
        "ingest", str(fixture_path("lecture_60s_en.mp3")), "--knowledge", "cli", "--stt-model", "bundled-tiny-en",
        "--language", "en", "--wait", "--json", "--timeout", "120",
    )  # fmt: skip

    (doc,) = json.loads(capsys.readouterr().out)
    assert doc["status"] == Status.SUCCESS and doc["language"] == "en"
    assert doc["stt_model"] == "bundled-tiny-en" and doc["options"] == {"language": "en"}
    paragraphs = doc["paragraphs"]
    assert doc["paragraph_count"] == len(paragraphs) >= 3
    assert [p["position"] for p in paragraphs] == list(range(len(paragraphs)))
    assert all(a["end"] <= b["start"] + 0.01 for a, b in zip(paragraphs, paragraphs[1:], strict=False))
    assert paragraphs[-1]["end"] == pytest.approx(65, abs=2)
    assert any("vectors" in p["content"] for p in paragraphs)
    assert KnowledgeBase.objects.get(name="cli").documents.count() == 1


def test_ingest_wait_exits_non_zero_when_a_file_fails(speech_models, celery_worker, tmp_path, capsys):
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"\x00" * 4096)

    with pytest.raises(SystemExit) as exit_info:
        call_command("ingest", str(broken), str(fixture_path("jupiter_en.mp3")), "--knowledge", "cli2", "--wait")

    out = capsys.readouterr().out
    assert exit_info.value.code == 1
    assert "FAILURE: broken.mp3 (cannot read the file as audio or video" in out
    assert "SUCCESS: jupiter_en.mp3" in out


def test_ingest_unknown_model_is_a_command_error(speech_models):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="unknown speech model"):
        call_command("ingest", str(fixture_path("jupiter_en.mp3")), "--knowledge", "x", "--stt-model", "nope")
    assert not Document.objects.exists()


def test_reprocess_failed_dry_run_then_requeues_and_worker_finishes(speech_models, celery_worker, capsys):
    kb = KnowledgeBase.objects.create(name="retry-me")
    doc = DocumentFactory.build(knowledge_base=kb, name="jupiter", status=Status.FAILURE, error="worker lost")
    doc.file.save("jupiter.mp3", ContentFile(fixture_path("jupiter_en.mp3").read_bytes()), save=True)
    other = KnowledgeBase.objects.create(name="leave-alone")
    DocumentFactory(knowledge_base=other, name="x", status=Status.FAILURE, file="x.mp3")

    call_command("reprocess_failed", "--knowledge", "retry-me", "--dry-run")
    assert "would queue 1 document(s)" in capsys.readouterr().out
    assert Document.objects.get(pk=doc.pk).status == Status.FAILURE

    call_command("reprocess_failed", "--knowledge", "retry-me")

    assert "queued 1 document(s)" in capsys.readouterr().out
    (done,) = wait_for_documents([doc.pk])
    assert done.status == Status.SUCCESS and done.error == "" and done.paragraph_count >= 1
    assert Document.objects.get(name="x").status == Status.FAILURE


def test_bootstrap_creates_admin_token_and_is_idempotent(speech_models, settings, tmp_path):
    settings.VAR_DIR, settings.MODELS_DIR = tmp_path, tmp_path / "models"
    first, second = StringIO(), StringIO()

    call_command("bootstrap", stdout=first)
    token = (tmp_path / "dev_api_token").read_text().strip()
    call_command("bootstrap", stdout=second)

    from rest_framework.authtoken.models import Token

    # The multilingual default runs its queries on numpy: nothing to export.
    assert "search query encoder (bundled:use-multilingual-v3): not needed: its queries run on numpy" in (
        first.getvalue()
    )
    # The speaker model is exported on the first start (workers then never import torch for it).
    assert "speaker model: exported" in first.getvalue() and "speaker model: export ready" in second.getvalue()
    # So is MiniLM, the default's second opinion on English (knowledge/english_vectors.py).
    assert "English second opinion (bundled:all-MiniLM-L6-v2): exported" in first.getvalue()
    assert "English second opinion (bundled:all-MiniLM-L6-v2): export ready" in second.getvalue()
    exports = sorted(p.name.rsplit("-", 1)[0] for p in (tmp_path / "models" / "onnx").glob("*.onnx"))
    assert exports == ["bundled_all_MiniLM_L6_v2_9fb5d60d", "campplus", "english-minilm-int8"]  # float, then 8-bit
    # A sentence-transformers default finds its query export: the same file, made once.
    settings.EMBEDDING_MODEL = "bundled:all-MiniLM-L6-v2"
    third = StringIO()
    call_command("bootstrap", stdout=third)
    assert "search query encoder (bundled:all-MiniLM-L6-v2): export ready" in third.getvalue()
    assert len(list((tmp_path / "models" / "onnx").glob("*.onnx"))) == 3

    assert (tmp_path / "dev_api_token").read_text().strip() == token
    assert Token.objects.get(key=token).user.is_superuser
    assert oct((tmp_path / "dev_api_token").stat().st_mode & 0o777) == "0o600"
