"""Validation of per-upload transcription options."""

from __future__ import annotations

from typing import Any

from faster_whisper.tokenizer import _LANGUAGE_CODES

from stt_models.models import SpeechModel

LANGUAGE_CODES = frozenset(_LANGUAGE_CODES)


class OptionsError(ValueError):
    """Bad options; ``errors`` maps each field to a message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def validate_options(model: SpeechModel, raw: dict[str, Any]) -> dict[str, Any]:
    """Return clean options for ``model`` or raise OptionsError with one message per field."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    language = (raw.get("language") or "").strip().lower()
    if language and language != "auto":
        if language not in LANGUAGE_CODES:
            errors["language"] = (
                f"unknown language code {language!r} (use 'auto' or an ISO 639-1 code such as 'en', 'zh')"
            )
        elif model.english_only and language != "en":
            errors["language"] = (
                f"speech model {model.name!r} is English-only; pick a multilingual model for {language!r}"
            )
        else:
            clean["language"] = language
    if errors:
        raise OptionsError(errors)
    return clean
