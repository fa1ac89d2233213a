"""What a row of a model registry (speech models, LLMs) has beside its provider's own settings:
a unique name, where its server is and which environment variable holds its key (never the key
itself), whether it is the default, and how its last check went (the apps' ``probes``)."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from core.model_servers import configuration_errors

ENV_NAME = RegexValidator(r"^[A-Za-z_][A-Za-z0-9_]*$", "an environment variable name, e.g. OPENAI_API_KEY")
# The API providers both registries know (their Provider enums take these values; api_errors checks them).
OPENAI, OPENAI_COMPATIBLE = "openai", "openai_compatible"


def one_default(name: str) -> models.UniqueConstraint:
    """At most one row of a registry is its default."""
    return models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name=name)


class RegisteredModel(models.Model):
    """The fields and checks both registries share; ``provider`` and ``model`` are each one's own."""

    name = models.CharField(max_length=100, unique=True)
    base_url = models.URLField(
        blank=True,
        help_text="API providers: the server, e.g. http://localhost:11434/v1 (blank: OpenAI's own endpoint).",
    )
    api_key_env = models.CharField(
        max_length=100,
        blank=True,
        validators=[ENV_NAME],
        help_text="API providers: the NAME of the environment variable holding the key (the key is never stored).",
    )
    is_default = models.BooleanField(default=False)
    description = models.CharField(max_length=300, blank=True)
    check_error = models.CharField(
        max_length=500,
        blank=True,
        help_text="Why the last check failed (weights missing, server unreachable, bad key, unknown model); "
        "blank when fine.",
    )
    checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    provider: str
    model: str

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def api_errors(self, example: str) -> dict[str, str]:
        """What keeps an API provider's row from working, by field (``example``: a model name its
        API takes)."""
        errors = {}
        if not self.model.strip():
            errors["model"] = f"the model name the API expects, e.g. {example}"
        if self.provider == OPENAI_COMPATIBLE and not self.base_url:
            errors["base_url"] = "an OpenAI-compatible server needs its base URL"
        if self.provider == OPENAI and not self.api_key_env:
            errors["api_key_env"] = "name the environment variable that holds the OpenAI API key"
        return configuration_errors(self.base_url, self.api_key_env) | errors
