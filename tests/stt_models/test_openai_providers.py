"""The openai and openai_compatible providers against a real local server speaking the API."""

import pytest
from django.core.files.base import ContentFile

from knowledge.models import Document, KnowledgeBase, Status
from media_learning.pipeline import runner
from stt_models.models import SpeechModel
from tests.conftest import fixture_path, reference_text, word_error_rate
from tests.factories import DocumentFactory


def document_for(model, name="jupiter_en.mp3", **options):
    kb, _ = KnowledgeBase.objects.get_or_create(name="api-stt")
    doc = DocumentFactory.build(knowledge_base=kb, name=name, task_id="t-1", stt_model=model, options=options)
    doc.file.save(name, ContentFile(fixture_path(name).read_bytes()), save=True)
    return doc


@pytest.mark.parametrize("provider", ["openai", "openai_compatible"])
def test_api_provider_transcribes_through_the_server(db, server, provider):
    model = SpeechModel.objects.create(name=f"remote-{provider}", provider=provider, model="whisper-1",
                                       base_url=server.base_url, api_key_env="TEST_STT_KEY")  # fmt: skip
    doc = document_for(model, word_timestamps=True)

    assert runner.run(doc.pk, "t-1") == Status.SUCCESS, Document.objects.get(pk=doc.pk).error

    doc = Document.objects.get(pk=doc.pk)
    text = " ".join(doc.paragraphs.values_list("content", flat=True))
    assert doc.language == "en" and word_error_rate(reference_text("jupiter_en"), text) < 0.25
    (request,) = server.requests
    assert request["form"]["model"] == ["whisper-1"] and request["form"]["response_format"] == ["verbose_json"]
    assert request["form"]["timestamp_granularities[]"] == ["segment", "word"]
    assert 20_000 < request["file_bytes"] < 400_000  # FLAC of ~11 s of 16 kHz mono
    from media_learning.pipeline.transcribe import load_transcript

    words = [w for s in load_transcript(doc).segments for w in s.words]
    assert len(words) > 20 and words[0].start < words[-1].start


def test_a_text_only_model_is_asked_for_json_and_the_document_says_it_has_no_timestamps(db, server):
    model = SpeechModel.objects.create(name="gpt-4o", provider="openai", model="gpt-4o-mini-transcribe",
                                       base_url=server.base_url, api_key_env="TEST_STT_KEY")  # fmt: skip
    doc = document_for(model, word_timestamps=True)

    assert runner.run(doc.pk, "t-1") == Status.SUCCESS, Document.objects.get(pk=doc.pk).error

    doc = Document.objects.get(pk=doc.pk)
    (request,) = server.requests
    assert request["form"]["response_format"] == ["json"] and "timestamp_granularities[]" not in request["form"]
    text = " ".join(doc.paragraphs.values_list("content", flat=True))
    assert word_error_rate(reference_text("jupiter_en"), text) < 0.25
    assert "the speech model gives no timestamps" in " ".join(doc.warnings)
    first = doc.paragraphs.order_by("position").first()
    assert first.start == 0.0 and 10 < first.end <= doc.duration + 0.01  # timed by its media segment
    assert not model.gives_timestamps and SpeechModel(provider="openai", model="whisper-1").gives_timestamps


def test_wrong_key_fails_with_a_reason_that_does_not_leak_the_key(db, server, monkeypatch):
    monkeypatch.setenv("TEST_STT_KEY", "sk-wrong-000")
    model = SpeechModel.objects.create(name="remote", provider="openai_compatible", model="whisper-1",
                                       base_url=server.base_url, api_key_env="TEST_STT_KEY")  # fmt: skip
    doc = document_for(model)

    assert runner.run(doc.pk, "t-1") == Status.FAILURE

    error = Document.objects.get(pk=doc.pk).error
    assert error == "the speech API rejected the key from TEST_STT_KEY (401)"


def test_openai_provider_without_its_key_variable_fails_clearly(db, server, monkeypatch):
    monkeypatch.delenv("TEST_STT_KEY")
    model = SpeechModel.objects.create(name="remote", provider="openai", model="whisper-1",
                                       base_url=server.base_url, api_key_env="TEST_STT_KEY")  # fmt: skip
    doc = document_for(model)

    assert runner.run(doc.pk, "t-1") == Status.FAILURE
    assert "environment variable TEST_STT_KEY with the API key is not set" in Document.objects.get(pk=doc.pk).error
    assert server.requests == []


def test_unreachable_or_overloaded_server_is_retried_not_failed(db, server):
    model = SpeechModel.objects.create(name="remote", provider="openai_compatible", model="whisper-1",
                                       base_url=server.base_url, api_key_env="TEST_STT_KEY",
                                       options={"max_retries": 0})  # fmt: skip
    doc = document_for(model)
    server.fail_next = 503

    with pytest.raises(runner.TransientError, match="InternalServerError"):
        runner.run(doc.pk, "t-1")

    assert Document.objects.get(pk=doc.pk).status == Status.STARTED  # the task retries it
    assert runner.run(doc.pk, "t-1") == Status.SUCCESS  # the retry (same task) resumes and succeeds


def test_api_model_validation(db):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as compatible:
        SpeechModel(name="x", provider="openai_compatible", model="").full_clean()
    with pytest.raises(ValidationError) as official:
        SpeechModel(name="y", provider="openai", model="whisper-1", api_key_env="not a name!").full_clean()

    assert set(compatible.value.message_dict) >= {"model", "base_url"}
    assert "api_key_env" in official.value.message_dict
