"""The LLM's options are stored apart from the transcription options (Document.llm_options): an
upload's plan splits them, a re-run's plan keeps each part, and migration 0024 moved the LLM's
out of the documents that had both in ``options``."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection

from core.errors import FieldErrors
from knowledge import ingest
from knowledge.models import Document
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db

LLM = ("enable_punctuation", "enable_summary", "summary_prompt")


def test_an_upload_s_plan_keeps_the_llm_options_apart(speech_models, language_model):
    language_model.is_default = True
    language_model.save()
    plan = ingest.resolve_processing("bundled-tiny-en", None, {"language": "en", "beam_size": "3",
                                                               "summary_prompt": "Three bullet points."})  # fmt: skip

    assert plan.llm_model == language_model  # a summary prompt asks for the default LLM
    assert plan.options == {"language": "en", "beam_size": 3}
    assert plan.llm_options == {"enable_punctuation": True, "enable_summary": True,
                                "summary_prompt": "Three bullet points."}  # fmt: skip
    plain = ingest.resolve_processing("bundled-tiny-en", None, {"language": "en"})
    assert plain.llm_model is None and plain.llm_options == {}
    with pytest.raises(FieldErrors) as refused:  # both parts' errors, in one answer
        ingest.resolve_processing("bundled-tiny-en", "editor", {"beam_size": "99", "enable_summary": "maybe"})
    assert set(refused.value.errors) == {"beam_size", "enable_summary"}


def test_a_re_run_s_plan_changes_what_is_named_and_keeps_the_rest(speech_models, language_model):
    doc = DocumentFactory(stt_model=speech_models["bundled-tiny-en"],
                          llm_model=language_model, options={"language": "en"},
                          llm_options={"enable_punctuation": False, "enable_summary": True})  # fmt: skip

    prompt = ingest.plan_for(doc, "bundled-tiny-en", raw={"summary_prompt": "One line."})
    assert prompt.options == {"language": "en"} and prompt.llm_model == language_model
    assert prompt.llm_options == {"enable_punctuation": False, "enable_summary": True, "summary_prompt": "One line."}
    dropped = ingest.plan_for(doc, "bundled-tiny-en", keep_llm=False)
    assert dropped.llm_model is None and dropped.llm_options == {} and dropped.options == {"language": "en"}


def test_migration_0024_moves_the_llm_options_out_and_back(db):
    migration = importlib.import_module("knowledge.migrations.0024_document_llm_options")
    mixed = DocumentFactory(options={"language": "zh", "enable_punctuation": True, "summary_prompt": "要点"})
    plain = DocumentFactory(options={"language": "en"})
    empty = DocumentFactory(options={})

    with connection.cursor() as cur:
        cur.execute(migration.FORWARD)
    rows = {d.pk: (d.options, d.llm_options) for d in Document.objects.filter(pk__in=[mixed.pk, plain.pk, empty.pk])}
    assert rows[mixed.pk] == ({"language": "zh"}, {"enable_punctuation": True, "summary_prompt": "要点"})
    assert rows[plain.pk] == ({"language": "en"}, {}) and rows[empty.pk] == ({}, {})

    with connection.cursor() as cur:
        cur.execute(migration.BACKWARD)
    mixed.refresh_from_db()
    assert mixed.options == {"language": "zh", "enable_punctuation": True, "summary_prompt": "要点"}
    assert mixed.llm_options == {}
