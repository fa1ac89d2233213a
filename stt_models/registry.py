"""Pick a SpeechModel and build its provider."""

from __future__ import annotations

from typing import TypeVar

from django.conf import settings
from django.db.models import Model

from core.errors import UserError
from core.registry import resolve
from stt_models.models import API_PROVIDERS, Provider, SpeechModel
from stt_models.providers.base import SpeechProvider, SttRefused

M = TypeVar("M", bound=Model)


class SpeechModelNotFound(UserError):
    code = "speech_model_not_found"


def resolve_speech_model(ref: str | int | None) -> SpeechModel:
    """A model by id or name; the default model when ``ref`` is empty."""
    return resolve(SpeechModel.objects.all(), ref, SpeechModelNotFound, "speech model", "stt_model_id")


def get_provider(model: SpeechModel) -> SpeechProvider:
    if model.provider == Provider.FASTER_WHISPER:
        from stt_models.providers.faster_whisper import FasterWhisperProvider  # noqa: PLC0415 - a provider loads its libraries only when a model of it is used

        return FasterWhisperProvider(
            model=model.model,
            device=model.device,
            compute_type=model.compute_type,
            options=model.options,
            default_cpu_threads=settings.STT_CPU_THREADS,
            default_num_workers=settings.STT_NUM_WORKERS,
            default_batch_size=settings.STT_BATCH_SIZE,
        )
    if model.provider in API_PROVIDERS:
        from stt_models.providers.openai_api import OpenAIProvider  # noqa: PLC0415 - a provider loads its libraries only when a model of it is used

        return OpenAIProvider(
            model=model.model,
            base_url=model.base_url,
            api_key_env=model.api_key_env,
            require_key=model.provider == Provider.OPENAI,
            options=model.options,
        )
    if model.is_auto:
        raise SttRefused(f"speech model {model.name!r} chooses another model per recording (stt_models.routing)")
    raise SttRefused(f"speech model {model.name!r} has unsupported provider {model.provider!r}")
