"""The LLM registry: chat models used to polish transcripts and write summaries."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.model_servers import configuration_errors

ENV_NAME = RegexValidator(r"^[A-Za-z_][A-Za-z0-9_]*$", "an environment variable name, e.g. OPENAI_API_KEY")


class Provider(models.TextChoices):
    OPENAI = "openai", "OpenAI chat API"
    OPENAI_COMPATIBLE = "openai_compatible", "OpenAI-compatible chat API (vLLM, Ollama, llama.cpp, ...)"


class LanguageModel(models.Model):
    """One configured chat model that an upload can name for polishing and summaries."""

    provider = models.CharField(max_length=32, choices=Provider.choices, default=Provider.OPENAI_COMPATIBLE)
    name = models.CharField(max_length=100, unique=True)
    model = models.CharField(max_length=200, help_text="Model name sent to the API, e.g. gpt-4o-mini or qwen2.5:7b.")
    base_url = models.URLField(
        blank=True, help_text="e.g. http://localhost:11434/v1 for Ollama (blank: OpenAI's own endpoint)."
    )
    api_key_env = models.CharField(
        max_length=100,
        blank=True,
        validators=[ENV_NAME],
        help_text="The NAME of the environment variable holding the API key (the key is never stored).",
    )
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
    is_default = models.BooleanField(default=False)
    description = models.CharField(max_length=300, blank=True)
    check_error = models.CharField(
        max_length=500, blank=True, help_text="Why the last check failed (unreachable, bad key, unknown model)."
    )
    checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("language model")
        verbose_name_plural = _("language models")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_language_model"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if not self.model.strip():
            errors["model"] = "the model name the API expects, e.g. gpt-4o-mini"
        if self.provider == Provider.OPENAI_COMPATIBLE and not self.base_url:
            errors["base_url"] = "an OpenAI-compatible server needs its base URL"
        if self.provider == Provider.OPENAI and not self.api_key_env:
            errors["api_key_env"] = "name the environment variable that holds the OpenAI API key"
        if self.max_tokens and self.context_window and self.max_tokens > self.context_window // 2:
            errors["max_tokens"] = "at most half the context window, so that a request has room for its input"
        errors = configuration_errors(self.base_url, self.api_key_env) | errors
        if errors:
            raise ValidationError(errors)
