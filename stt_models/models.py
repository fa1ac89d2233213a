"""The speech-to-text model registry."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from core import registry_models
from core.registry_models import RegisteredModel, one_default
from stt_models.bundled import model_problem


class Provider(models.TextChoices):
    FASTER_WHISPER = "faster_whisper", "faster-whisper (local)"
    OPENAI = registry_models.OPENAI, "OpenAI audio API"
    OPENAI_COMPATIBLE = registry_models.OPENAI_COMPATIBLE, "OpenAI-compatible server (speaches, vLLM, ...)"
    AUTO = "auto", "Automatic: detect the language, then pick the model for it"


API_PROVIDERS = (Provider.OPENAI, Provider.OPENAI_COMPATIBLE)


class Device(models.TextChoices):
    CPU = "cpu", "CPU"
    CUDA = "cuda", "CUDA GPU"
    AUTO = "auto", "Auto (CUDA when available)"


class SpeechModel(RegisteredModel):
    """One configured speech-to-text model that users can pick for an upload."""

    provider = models.CharField(max_length=32, choices=Provider.choices, default=Provider.FASTER_WHISPER)
    model = models.CharField(
        max_length=500,
        help_text="A CTranslate2 model folder, a hub name (e.g. 'small') or 'bundled:tiny.en' / 'bundled:base'.",
    )
    device = models.CharField(max_length=8, choices=Device.choices, default=Device.CPU)
    compute_type = models.CharField(max_length=32, default="int8")
    options = models.JSONField(
        default=dict,
        blank=True,
        help_text='Provider settings and default transcription options, e.g. {"beam_size": 5, "cpu_threads": 2}.',
    )

    class Meta(RegisteredModel.Meta):
        verbose_name = _("speech model")
        verbose_name_plural = _("speech models")
        constraints = [one_default("one_default_speech_model")]

    @property
    def gives_timestamps(self) -> bool:
        """Whether its transcripts are timed segment by segment (faster-whisper's always are)."""
        if self.provider not in API_PROVIDERS:
            return True
        from stt_models.providers.openai_api import gives_timestamps  # noqa: PLC0415 - the provider module (PyAV, the client) loads only when asked

        return gives_timestamps(self.model, self.options)

    @property
    def is_auto(self) -> bool:
        return self.provider == Provider.AUTO

    @property
    def english_only(self) -> bool:
        """Whisper's ``*.en`` checkpoints transcribe English only."""
        return self.provider == Provider.FASTER_WHISPER and self.model.rstrip("/").endswith(".en")

    def clean(self) -> None:
        if self.provider == Provider.AUTO:
            from stt_models.routing import auto_problems  # noqa: PLC0415 - cycle: routing imports these models

            errors = auto_problems(self)
            if errors:
                raise ValidationError(errors)
            return
        if self.provider in API_PROVIDERS:
            errors = self.api_errors("whisper-1")
            if errors:
                raise ValidationError(errors)
            return
        problem = model_problem(self.model)
        if problem:
            raise ValidationError({"model": problem})
        batch_size = (self.options or {}).get("batch_size", 1)
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or not 1 <= batch_size <= 64:
            raise ValidationError({"options": "batch_size must be a whole number from 1 to 64"})
