"""Pick a SpeechModel and build its provider."""

from __future__ import annotations

from typing import TypeVar

from django.conf import settings
from django.db.models import Model, QuerySet

from core.errors import UserError
from stt_models.models import API_PROVIDERS, Provider, SpeechModel
from stt_models.providers.base import SpeechProvider, SttRefused

M = TypeVar("M", bound=Model)


class SpeechModelNotFound(UserError):
    code = "speech_model_not_found"


MAX_ID = 2**63 - 1  # PostgreSQL's bigint


def parse_id(text: str) -> int | None:
    """``text`` as a row id: ASCII digits only (``"²".isdigit()`` is true, ``int("²")`` fails)
    within bigint's range; None for anything else."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_ID:
        return None
    return int(text)


def find_by_id_or_name(queryset: QuerySet[M], ref: str | int) -> M | None:
    """The row whose id (all digits) or name is ``ref``; shared by the speech and LLM registries."""
    text = str(ref).strip()
    pk = parse_id(text)
    return (queryset.filter(pk=pk) if pk is not None else queryset.filter(name=text)).first()


def resolve_speech_model(ref: str | int | None) -> SpeechModel:
    """A model by id or name; the default model when ``ref`` is empty."""
    if ref in (None, ""):
        model = SpeechModel.objects.filter(is_default=True).first()
        if model is None:
            raise SpeechModelNotFound("no stt_model_id given and no default speech model is configured")
        return model
    model = find_by_id_or_name(SpeechModel.objects.all(), ref)
    if model is None:
        raise SpeechModelNotFound(f"unknown speech model {str(ref).strip()!r}")
    return model


def get_provider(model: SpeechModel) -> SpeechProvider:
    if model.provider == Provider.FASTER_WHISPER:
        from stt_models.providers.faster_whisper import FasterWhisperProvider

        return FasterWhisperProvider(
            model=model.model,
            device=model.device,
            compute_type=model.compute_type,
            options=model.options,
            default_cpu_threads=settings.STT_CPU_THREADS,
        )
    if model.provider in API_PROVIDERS:
        from stt_models.providers.openai_api import OpenAIProvider

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
