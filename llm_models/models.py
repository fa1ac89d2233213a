"""The LLM registry: chat models used to polish transcripts and write summaries."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from core import registry_models
from core.registry_models import RegisteredModel, one_default


class Provider(models.TextChoices):
    OPENAI = registry_models.OPENAI, "OpenAI chat API"
    OPENAI_COMPATIBLE = registry_models.OPENAI_COMPATIBLE, "OpenAI-compatible chat API (vLLM, Ollama, llama.cpp, ...)"


class LanguageModel(RegisteredModel):
    """One configured chat model that an upload can name for polishing and summaries."""

    provider = models.CharField(max_length=32, choices=Provider.choices, default=Provider.OPENAI_COMPATIBLE)
    model = models.CharField(max_length=200, help_text="Model name sent to the API, e.g. gpt-4o-mini or qwen2.5:7b.")
    timeout = models.FloatField(
        default=120.0, validators=[MinValueValidator(1), MaxValueValidator(3600)], help_text="seconds per request"
    )
    max_tokens = models.PositiveIntegerField(
        default=2048,
        validators=[MinValueValidator(256), MaxValueValidator(200_000)],
        help_text="The most tokens one answer may have.",
    )
    context_window = models.PositiveIntegerField(
        default=8192,
        validators=[MinValueValidator(1024), MaxValueValidator(2_000_000)],
        help_text="The model's context length in tokens; requests are sized to stay within it.",
    )
    temperature = models.FloatField(
        null=True, blank=True, default=0.2, validators=[MinValueValidator(0), MaxValueValidator(2)]
    )
    options = models.JSONField(default=dict, blank=True, help_text="Extra fields sent with every chat request.")

    class Meta(RegisteredModel.Meta):
        verbose_name = _("language model")
        verbose_name_plural = _("language models")
        constraints = [one_default("one_default_language_model")]

    def clean(self) -> None:
        errors = self.api_errors("gpt-4o-mini")
        if self.max_tokens and self.context_window and self.max_tokens > self.context_window // 2:
            errors["max_tokens"] = "at most half the context window, so that a request has room for its input"
        if errors:
            raise ValidationError(errors)
