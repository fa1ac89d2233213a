"""Validation of per-upload transcription options (API, admin and ``ingest`` all use this)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.errors import FieldErrors
from stt_models.languages import LANGUAGE_CODES
from stt_models.models import API_PROVIDERS, Provider, SpeechModel
from stt_models.providers import faster_whisper, openai_api
from stt_models.routing import auto_options

DEFAULT_SEGMENT_DURATION = 300.0
OPTION_NAMES = (
    "language",
    "language_allowlist",
    "task",
    "segment_duration",
    "vad_filter",
    "beam_size",
    "temperature",
    "initial_prompt",
    "word_timestamps",
    "condition_on_previous_text",
    "no_speech_threshold",
    "compression_ratio_threshold",
    "hallucination_silence_threshold",
    "diarize",
    "num_speakers",
    "min_speakers",
    "max_speakers",
)
# Options of the diarization step, not of the speech model (providers never see them).
DIARIZATION_OPTION_NAMES = ("diarize", "num_speakers", "min_speakers", "max_speakers")
# Options of the pipeline around the speech model: valid whatever the provider.
PIPELINE_OPTION_NAMES = ("segment_duration", *DIARIZATION_OPTION_NAMES)


def supported_options(model: SpeechModel) -> tuple[str, ...]:
    """The options an upload may give for ``model``: the pipeline's and those its provider
    declares (``auto``: those of every model it may choose)."""
    if model.is_auto:
        targets = SpeechModel.objects.filter(name__in=auto_options(model).values()).exclude(provider=Provider.AUTO)
        declared = [set(_declared(target.provider)) for target in targets] or [set(faster_whisper.SUPPORTED_OPTIONS)]
        common = set.intersection(*declared)
        return tuple(name for name in OPTION_NAMES if name in common or name in PIPELINE_OPTION_NAMES)
    return tuple(name for name in OPTION_NAMES if name in _declared(model.provider) or name in PIPELINE_OPTION_NAMES)


def _declared(provider: str) -> tuple[str, ...]:
    return openai_api.SUPPORTED_OPTIONS if provider in API_PROVIDERS else faster_whisper.SUPPORTED_OPTIONS


def _language(code: str) -> str:
    code = code.strip().lower()
    if code not in LANGUAGE_CODES:
        raise serializers.ValidationError(
            f"unknown language code {code!r} (use 'auto' or an ISO 639-1 code such as 'en', 'zh')"
        )
    return code


def language_or_auto(value: str) -> str:
    """A spoken-language setting: "" for none ("auto" or blank: detect it), else a known code
    (serializers.ValidationError otherwise). Uploads, knowledge bases and the admin share it."""
    value = value.strip().lower()
    return "" if value in ("", "auto") else _language(value)


class _CommaList(serializers.Field):
    """A list given as JSON list, repeated form fields, or one comma-separated string."""

    def __init__(self, item: serializers.Field, **kwargs: Any) -> None:
        self.item = item
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list:
        items = data if isinstance(data, list | tuple) else str(data).split(",")
        items = [i for i in items if str(i).strip() != ""]
        if not items:
            raise serializers.ValidationError("give at least one value")
        return [self.item.run_validation(str(i).strip()) for i in items]

    def to_representation(self, value: list) -> list:
        return value


class TranscriptionOptionsSerializer(serializers.Serializer):
    language = serializers.CharField(required=False, allow_blank=True, max_length=16)
    language_allowlist = _CommaList(serializers.CharField(max_length=16), required=False)
    task = serializers.ChoiceField(choices=["transcribe", "translate"], required=False)
    segment_duration = serializers.FloatField(required=False, min_value=30, max_value=3600)
    vad_filter = serializers.BooleanField(required=False)
    beam_size = serializers.IntegerField(required=False, min_value=1, max_value=20)
    temperature = _CommaList(serializers.FloatField(min_value=0, max_value=1), required=False)
    initial_prompt = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    word_timestamps = serializers.BooleanField(required=False)
    condition_on_previous_text = serializers.BooleanField(required=False)
    no_speech_threshold = serializers.FloatField(required=False, min_value=0, max_value=1)
    compression_ratio_threshold = serializers.FloatField(required=False, min_value=1, max_value=10)
    hallucination_silence_threshold = serializers.FloatField(required=False, min_value=0.1, max_value=60)
    diarize = serializers.ChoiceField(choices=["auto", "on", "off"], required=False)
    num_speakers = serializers.IntegerField(required=False, min_value=1, max_value=20)
    min_speakers = serializers.IntegerField(required=False, min_value=1, max_value=20)
    max_speakers = serializers.IntegerField(required=False, min_value=1, max_value=20)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        low, high = attrs.get("min_speakers"), attrs.get("max_speakers")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"min_speakers": "min_speakers is more than max_speakers"})
        num = attrs.get("num_speakers")
        if num is not None and not (low or 1) <= num <= (high or num):
            raise serializers.ValidationError({"num_speakers": "num_speakers is outside min_speakers..max_speakers"})
        return attrs

    def validate_language(self, value: str) -> str:
        return language_or_auto(value)

    def validate_language_allowlist(self, value: list[str]) -> list[str]:
        return [_language(code) for code in value]


def validate_options(model: SpeechModel, raw: dict[str, Any]) -> dict[str, Any]:
    """Clean options for ``model`` (only those given; empty language means auto), or raise
    FieldErrors with one message per field."""
    given = {k: v for k, v in raw.items() if k in OPTION_NAMES and v not in (None, "")}
    serializer = TranscriptionOptionsSerializer(data=given)
    if not serializer.is_valid():
        raise FieldErrors({k: " ".join(str(m) for m in v) for k, v in serializer.errors.items()})
    clean = {k: v for k, v in serializer.validated_data.items() if v != ""}
    errors: dict[str, str] = {}
    supported = supported_options(model)
    for name in clean:
        if name not in supported:
            errors[name] = f"speech model {model.name!r} ({model.provider}) does not take {name}"
    if model.english_only:
        if clean.get("language", "en") != "en":
            errors["language"] = (
                f"speech model {model.name!r} is English-only; pick a multilingual model for {clean['language']!r}"
            )
        if set(clean.get("language_allowlist", ["en"])) - {"en"}:
            errors["language_allowlist"] = f"speech model {model.name!r} is English-only"
        if clean.get("task") == "translate":
            errors["task"] = f"speech model {model.name!r} is English-only and cannot translate"
    if "language" in clean and "language_allowlist" in clean and clean["language"] not in clean["language_allowlist"]:
        errors["language"] = "the language is not in language_allowlist"
    if errors:
        raise FieldErrors(errors)
    return clean
