"""Which model transcribes: ``auto`` detects the language with the real multilingual model on
real speech, English-only models never get Mandarin, and a named language skips detection."""

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from media_learning.pipeline import decode
from stt_models.models import Provider, SpeechModel
from stt_models.routing import HEAD_SECONDS, choose
from tests.conftest import fixture_path

MANDARIN = "zh/zh_shared_meeting.wav"
ENGLISH = "jupiter_en.mp3"


def head(name):
    return lambda: decode.head(fixture_path(name), HEAD_SECONDS)


def test_auto_is_the_default_and_sends_mandarin_to_base_and_english_to_tiny_en(speech_models):
    auto = speech_models["auto"]

    mandarin = choose(auto, "", head(MANDARIN))
    english = choose(auto, "", head(ENGLISH))

    assert auto.is_default and auto.provider == Provider.AUTO
    assert (mandarin.model.name, mandarin.language, mandarin.warnings) == ("bundled-base", "zh", [])
    assert (english.model.name, english.language, english.warnings) == ("bundled-tiny-en", "en", [])
    assert mandarin.probability > 0.8 and english.probability > 0.8


def test_an_english_only_model_never_gets_mandarin(speech_models):
    chosen = choose(speech_models["bundled-tiny-en"], "", head(MANDARIN))
    kept = choose(speech_models["bundled-tiny-en"], "", head(ENGLISH))

    assert chosen.model.name == "bundled-base" and chosen.language == "zh"
    assert (
        len(chosen.warnings) == 1
        and "bundled-tiny-en is English-only, so bundled-base transcribed it" in (chosen.warnings[0])
    )
    assert (kept.model.name, kept.language, kept.warnings) == ("bundled-tiny-en", "en", [])


def test_a_named_language_skips_detection_and_a_multilingual_model_is_used_as_it_is(speech_models):
    def never():
        raise AssertionError("detection ran")

    named = choose(speech_models["auto"], "zh", never)
    base = choose(speech_models["bundled-base"], "", never)

    assert (named.model.name, named.language, named.detected) == ("bundled-base", "zh", False)
    assert (base.model.name, base.language, base.detected) == ("bundled-base", "", False)


def test_what_is_not_clearly_english_goes_to_the_multilingual_model(speech_models):
    noise = np.random.default_rng(7).normal(0, 0.01, 16000 * 20).astype(np.float32)

    chosen = choose(speech_models["auto"], "", lambda: noise)
    named = choose(speech_models["bundled-tiny-en"], "", lambda: noise)

    assert (chosen.model.name, chosen.language, chosen.found, chosen.probability) == ("bundled-base", "", "", 0.0)
    assert (named.model.name, named.warnings) == ("bundled-tiny-en", [])  # no speech: nothing to move


def test_an_auto_model_names_registered_models_and_detects_with_a_multilingual_one(speech_models):
    bad = SpeechModel(name="auto-bad", provider=Provider.AUTO, model="auto",
                      options={"detector": "bundled-tiny-en", "other_model": "nope"})  # fmt: skip

    with pytest.raises(ValidationError) as raised:
        bad.full_clean()

    message = str(raised.value)
    assert "other_model: no speech model named 'nope'" in message
    assert "detector: must be a local multilingual faster-whisper model" in message


def test_an_english_only_model_still_transcribes_when_the_detector_is_gone(speech_models):
    SpeechModel.objects.filter(name="bundled-base").delete()

    chosen = choose(speech_models["bundled-tiny-en"], "", head(MANDARIN))

    assert (chosen.model.name, chosen.language, chosen.detected) == ("bundled-tiny-en", "", False)
    assert chosen.warnings == [
        "the language was not checked before bundled-tiny-en: the auto speech model's detector 'bundled-base' is "
        "not registered"
    ]
