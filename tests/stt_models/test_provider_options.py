"""Each provider declares the options it takes; an upload naming another for its model is refused
with the reason, rather than validated and then dropped on the way to the server."""

import pytest

from core.errors import FieldErrors
from stt_models.models import SpeechModel
from stt_models.options import PIPELINE_OPTION_NAMES, supported_options, validate_options
from stt_models.providers import faster_whisper, openai_api


@pytest.fixture
def remote(db):
    return SpeechModel.objects.create(name="remote-stt", provider="openai_compatible", model="whisper-1",
                                      base_url="http://127.0.0.1:9/v1")  # fmt: skip


def test_an_api_model_refuses_the_options_only_faster_whisper_has(remote):
    with pytest.raises(FieldErrors) as refused:
        validate_options(remote, {"beam_size": 5, "vad_filter": True, "language": "zh"})

    assert set(refused.value.errors) == {"beam_size", "vad_filter"}
    assert "speech model 'remote-stt' (openai_compatible) does not take beam_size" in str(refused.value)
    taken = validate_options(remote, {"language": "zh", "initial_prompt": "会议", "segment_duration": 120,
                                      "num_speakers": 2})  # fmt: skip
    assert taken == {"language": "zh", "initial_prompt": "会议", "segment_duration": 120.0, "num_speakers": 2}


def test_local_and_auto_models_take_every_faster_whisper_option(speech_models):
    local = SpeechModel.objects.get(name="bundled-base")
    auto = SpeechModel.objects.get(name="auto")

    assert set(supported_options(local)) == set(faster_whisper.SUPPORTED_OPTIONS) | set(PIPELINE_OPTION_NAMES)
    assert supported_options(auto) == supported_options(local)  # its targets are local models
    assert validate_options(auto, {"beam_size": 2, "vad_filter": False}) == {"beam_size": 2, "vad_filter": False}


def test_auto_pointed_at_an_api_model_takes_only_what_both_take(speech_models, remote):
    auto = SpeechModel.objects.get(name="auto")
    auto.options = {**(auto.options or {}), "other_model": remote.name}
    auto.save()

    assert set(supported_options(auto)) == set(openai_api.SUPPORTED_OPTIONS) | set(PIPELINE_OPTION_NAMES)
    with pytest.raises(FieldErrors, match="does not take beam_size"):
        validate_options(auto, {"beam_size": 2})


def test_the_transcript_fingerprint_leaves_the_speaker_options_out(speech_models):
    from media_learning.pipeline.transcribe import fingerprint

    model = SpeechModel.objects.get(name="bundled-base")
    plain = fingerprint(model, {"beam_size": 5, "language": "zh"})

    assert fingerprint(model, {"beam_size": 5, "language": "zh", "num_speakers": 2, "diarize": "on"}) == plain
    assert fingerprint(model, {"beam_size": 4, "language": "zh"}) != plain
