"""The LLM registry (used for optional polishing and summaries in a later step)."""

from django.db import models
from django.db.models import Q


class LanguageModel(models.Model):
    class Provider(models.TextChoices):
        OPENAI_COMPATIBLE = "openai_compatible", "OpenAI-compatible chat API"

    provider = models.CharField(max_length=32, choices=Provider.choices, default=Provider.OPENAI_COMPATIBLE)
    name = models.CharField(max_length=100, unique=True)
    model = models.CharField(max_length=200, help_text="Model name sent to the API.")
    base_url = models.URLField(blank=True)
    api_key_env = models.CharField(
        max_length=100, blank=True, help_text="Name of the environment variable that holds the API key."
    )
    options = models.JSONField(default=dict, blank=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_language_model"
            ),
        ]

    def __str__(self) -> str:
        return self.name
