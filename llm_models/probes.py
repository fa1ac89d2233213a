"""Check that a language model can work: server reachable, key accepted, model offered.
Run when a model is saved (API and admin); ``try_model`` backs the API's test action."""

from __future__ import annotations

import time
from typing import Any

import httpx
from django.utils import timezone

from core.model_servers import OPENAI_BASE_URL
from core.registry import probe_api
from llm_models.models import LanguageModel
from llm_models.providers.base import LlmError
from llm_models.registry import get_client, read_api_key

TEST_PROMPT = "Reply with the single word OK."


def _offered(response: httpx.Response) -> list[str]:
    try:
        return [str(item["id"]) for item in response.json().get("data", [])]
    except (ValueError, AttributeError, KeyError, TypeError):
        return []


def _problem(model: LanguageModel) -> str:
    try:
        key = read_api_key(model)
    except LlmError as exc:
        return str(exc)
    if model.api_key_env and not key:
        return f"the environment variable {model.api_key_env} is not set here"
    base = (model.base_url or OPENAI_BASE_URL).rstrip("/")
    problem, response = probe_api(base, key, model.api_key_env, timeout=min(model.timeout, 10.0))
    if problem or response is None:
        return problem
    offered = _offered(response) if response.status_code == 200 else []
    if offered and model.model not in offered:
        return f"{base} does not offer model {model.model!r} (it offers: {', '.join(offered[:10])})"
    return ""


def record_problem(model: LanguageModel, problem: str | Exception) -> str:
    """Store ``problem`` ('' for none) as the model's check result, where admin and API show it."""
    text = str(problem)[:500]
    LanguageModel.objects.filter(pk=model.pk).update(check_error=text, checked_at=timezone.now())
    model.check_error, model.checked_at = text, timezone.now()
    return text


def check_model(model: LanguageModel) -> str:
    """Record and return the problem ('' when the model looks usable)."""
    return record_problem(model, _problem(model))


def try_model(model: LanguageModel) -> dict[str, Any]:
    """Send one tiny chat request; report the answer, the time it took and the tokens used."""
    started = time.monotonic()
    try:
        with get_client(model) as client:
            result = client.complete([{"role": "user", "content": TEST_PROMPT}], max_tokens=16)
    except LlmError as exc:
        return {"ok": False, "error": str(exc), "seconds": round(time.monotonic() - started, 3)}
    return {
        "ok": True,
        "reply": result.text.strip()[:200],
        "seconds": round(time.monotonic() - started, 3),
        "usage": client.usage.as_dict(),
    }
