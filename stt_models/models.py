"""The speech-to-text model registry."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q


class Provider(models.TextChoices):
    FASTER_WHISPER = "faster_whisper", "faster-whisper (local)"


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
    device = models.CharField(max_length=8, choices=Device.choices, default=Device.CPU)
    compute_type = models.CharField(max_length=32, default="int8")
    options = models.JSONField(
        default=dict,
        blank=True,
        help_text='Provider settings and default transcription options, e.g. {"beam_size": 5, "cpu_threads": 2}.',
    )
    is_default = models.BooleanField(default=False)
    description = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_speech_model"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def english_only(self) -> bool:
        """Whisper's ``*.en`` checkpoints transcribe English only."""
        return self.model.rstrip("/").endswith(".en")

    def clean(self) -> None:
        from stt_models.bundled import model_problem

        problem = model_problem(self.model)
        if problem:
            raise ValidationError({"model": problem})
