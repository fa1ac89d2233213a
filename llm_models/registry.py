"""Pick a LanguageModel and build its chat client."""

from __future__ import annotations

from django.conf import settings

from core import model_servers
from core.errors import UserError
from core.registry import resolve
from llm_models.models import LanguageModel, Provider
from llm_models.providers.base import LlmRefused
from llm_models.providers.openai_chat import ChatClient


class LanguageModelNotFound(UserError):
    code = "llm_not_found"


def resolve_language_model(ref: str | int | None, *, default: bool = False) -> LanguageModel | None:
    """A model by id or name. With an empty ``ref``: the default model when ``default`` is set
    (LanguageModelNotFound if none is configured), else None."""
    if ref in (None, "") and not default:
        return None
    return resolve(LanguageModel.objects.all(), ref, LanguageModelNotFound, "LLM", "llm_model_id")


def read_api_key(model: LanguageModel) -> str:
    """The model's key ('' when none is named or it is unset); LlmError when the operator's rules
    do not allow this variable or this server (``core.model_servers``)."""
    try:
        return model_servers.read_api_key(model.api_key_env, model.base_url)
    except model_servers.ServerRefused as exc:
        raise LlmRefused(f"the LLM's server or key is not allowed: {exc}") from None


def get_client(model: LanguageModel) -> ChatClient:
    key = read_api_key(model)
    if model.provider == Provider.OPENAI and not key:
        raise LlmRefused(f"the environment variable {model.api_key_env or '(none named)'} with the API key is not set")
    return ChatClient(
        model=model.model,
        base_url=model.base_url,
        api_key=key,
        key_source=model.api_key_env,
        timeout=model.timeout,
        max_tokens=model.max_tokens,
        context_window=model.context_window,
        temperature=model.temperature,
        extra=model.options,
        max_tries=settings.LLM_MAX_TRIES,
        backoff=settings.LLM_RETRY_BACKOFF,
        # OpenAI's newer models take max_completion_tokens; other servers know max_tokens.
        completion_tokens_field="max_completion_tokens" if model.provider == Provider.OPENAI else "max_tokens",
    )
