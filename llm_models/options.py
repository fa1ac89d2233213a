"""Validation of the per-upload LLM choices (API, admin and ``ingest`` all use this)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.errors import FieldErrors
from llm_models.models import LanguageModel
from llm_models.registry import LanguageModelNotFound, resolve_language_model

LLM_OPTION_NAMES = ("enable_punctuation", "enable_summary", "summary_prompt")


def without_llm_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """A document's options without the LLM's: the part that changes its transcript."""
    return {k: v for k, v in (options or {}).items() if k not in LLM_OPTION_NAMES}


SUMMARY_PROMPT_MAX_CHARS = 4000


class LlmOptionsSerializer(serializers.Serializer):
    enable_punctuation = serializers.BooleanField(required=False)
    enable_summary = serializers.BooleanField(required=False)
    summary_prompt = serializers.CharField(required=False, allow_blank=True, max_length=SUMMARY_PROMPT_MAX_CHARS)


def validate_llm_options(ref: str | int | None, raw: dict[str, Any]) -> tuple[LanguageModel | None, dict[str, Any]]:
    """The LLM for an upload and its options. Naming a model turns polishing and the summary on
    unless they are switched off; asking for either without a model uses the default LLM."""
    given = {k: v for k, v in raw.items() if k in LLM_OPTION_NAMES and v not in (None, "")}
    serializer = LlmOptionsSerializer(data=given)
    if not serializer.is_valid():
        raise FieldErrors({k: " ".join(str(m) for m in v) for k, v in serializer.errors.items()})
    clean = dict(serializer.validated_data)
    wanted = clean.get("enable_punctuation") or clean.get("enable_summary") or bool(clean.get("summary_prompt"))
    try:
        model = resolve_language_model(ref, default=bool(wanted))
    except LanguageModelNotFound as exc:
        raise FieldErrors({"llm_model_id": str(exc)})
    if model is None:
        return None, {}
    options = {
        "enable_punctuation": clean.get("enable_punctuation", True),
        "enable_summary": clean.get("enable_summary", True),
    }
    if clean.get("summary_prompt"):
        if not options["enable_summary"]:
            raise FieldErrors({"summary_prompt": "a summary prompt needs enable_summary"})
        options["summary_prompt"] = clean["summary_prompt"].strip()
    if not (options["enable_punctuation"] or options["enable_summary"]):
        return None, {}
    return model, options
