"""The speech-to-text model registry."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.model_servers import configuration_errors
from stt_models.bundled import model_problem


class Provider(models.TextChoices):
    FASTER_WHISPER = "faster_whisper", "faster-whisper (local)"
    OPENAI = "openai", "OpenAI audio API"
    OPENAI_COMPATIBLE = "openai_compatible", "OpenAI-compatible server (speaches, vLLM, ...)"
    AUTO = "auto", "Automatic: detect the language, then pick the model for it"


API_PROVIDERS = (Provider.OPENAI, Provider.OPENAI_COMPATIBLE)
ENV_NAME = RegexValidator(r"^[A-Za-z_][A-Za-z0-9_]*$", "an environment variable name, e.g. OPENAI_API_KEY")


class Device(models.TextChoices):
    CPU = "cpu", "CPU"
    CUDA = "cuda", "CUDA GPU"
    AUTO = "auto", "Auto (CUDA when available)"


class SpeechModel(models.Model):
    """One configured speech-to-text model that users can pick for an upload."""

    provider = models.CharField(max_length=32, choices=Provider.choices, default=Provider.FASTER_WHISPER)
    name = models.CharField(max_length=100, unique=True)
    model = models.CharField(
        max_length=500,
        help_text="A CTranslate2 model folder, a hub name (e.g. 'small') or 'bundled:tiny.en' / 'bundled:base'.",
    )
    base_url = models.URLField(
        blank=True, help_text="API providers: e.g. http://stt.internal:8000/v1 (blank: OpenAI's own endpoint)."
    )
    api_key_env = models.CharField(
        max_length=100,
        blank=True,
        validators=[ENV_NAME],
        help_text="API providers: the NAME of the environment variable holding the key (the key is never stored).",
    )
    device = models.CharField(max_length=8, choices=Device.choices, default=Device.CPU)
    compute_type = models.CharField(max_length=32, default="int8")
    options = models.JSONField(
        default=dict,
        blank=True,
        help_text='Provider settings and default transcription options, e.g. {"beam_size": 5, "cpu_threads": 2}.',
    )
    is_default = models.BooleanField(default=False)
    description = models.CharField(max_length=300, blank=True)
    check_error = models.CharField(
        max_length=500,
        blank=True,
        help_text="Why the last check failed (weights missing, server unreachable); blank when fine.",
    )
    checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("speech model")
        verbose_name_plural = _("speech models")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_speech_model"
            ),
        ]

    def __str__(self) -> str:
        return self.name

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
            errors = {}
            if not self.model.strip():
                errors["model"] = "the model name the API expects, e.g. whisper-1"
            if self.provider == Provider.OPENAI_COMPATIBLE and not self.base_url:
                errors["base_url"] = "an OpenAI-compatible server needs its base URL"
            if self.provider == Provider.OPENAI and not self.api_key_env:
                errors["api_key_env"] = "name the environment variable that holds the OpenAI API key"
            errors = configuration_errors(self.base_url, self.api_key_env) | errors
            if errors:
                raise ValidationError(errors)
            return
        problem = model_problem(self.model)
        if problem:
            raise ValidationError({"model": problem})
        batch_size = (self.options or {}).get("batch_size", 1)
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or not 1 <= batch_size <= 64:
            raise ValidationError({"options": "batch_size must be a whole number from 1 to 64"})
