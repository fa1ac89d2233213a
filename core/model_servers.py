"""What a registry model (speech or LLM) may name, checked when it is saved and again each time
something is sent to it:

- its server, ``base_url``: through the address guard (``core.outbound``) with the
  operator's MODEL_URL_ALLOWLIST for private servers (a LAN vLLM, a local Ollama); requests go
  to the address that was checked;
- its key, ``api_key_env``: only a variable the operator listed in MODEL_API_KEY_ENVS, and, when
  listed as ``NAME=URL``, only sent to base URLs under that URL. So whoever may edit the registry
  can neither read another variable of the server nor send a listed key to a server of theirs.

Shared by both registries (``stt_models`` and ``llm_models``)."""

from __future__ import annotations

import os
from typing import Any

import httpx
from django.conf import settings

from core import outbound
from core.errors import UserError

OPENAI_BASE_URL = "https://api.openai.com/v1"


def _key_rules() -> dict[str, str]:
    """Variable name -> the URL prefix its value may be sent to ('' for any allowed server)."""
    rules = {}
    for entry in settings.MODEL_API_KEY_ENVS:
        name, _, prefix = entry.partition("=")
        rules[name.strip()] = prefix.strip()
    return rules


def _under(url: str, prefix: str) -> bool:
    """Whether ``url`` is ``prefix`` or below it (same scheme, host and port; path under it)."""
    target, base = httpx.URL(url), httpx.URL(prefix)
    same_origin = (target.scheme, target.host, target.port) == (base.scheme, base.host, base.port)
    base_path = base.path.rstrip("/") + "/"
    return same_origin and (target.path.rstrip("/") + "/").startswith(base_path)


def key_problem(env_name: str, base_url: str) -> str:
    """Why ``env_name`` may not be used with ``base_url`` ('' when it may, or when none is named)."""
    if not env_name:
        return ""
    rules = _key_rules()
    if env_name not in rules:
        allowed = ", ".join(sorted(rules)) or "none"
        return f"not a key variable the operator allows (MODEL_API_KEY_ENVS: {allowed})"
    prefix = rules[env_name]
    try:
        if prefix and not _under(base_url or OPENAI_BASE_URL, prefix):
            return f"the operator allows {env_name} only for servers under {prefix}"
    except httpx.InvalidURL:
        return "the base URL is not valid"
    return ""


def server_problem(base_url: str) -> str:
    """Why ``base_url`` may not be used ('' when it may; blank means the provider's own API)."""
    if not base_url:
        return ""
    try:
        outbound.check_url(base_url, allowlist=outbound.MODEL_SERVERS)
    except outbound.AddressRefused as exc:
        return str(exc)
    return ""


def configuration_errors(base_url: str, api_key_env: str) -> dict[str, str]:
    """Field -> message for a model being saved (the admin and the API both run it in ``clean``)."""
    errors = {}
    if problem := server_problem(base_url):
        errors["base_url"] = problem
    if problem := key_problem(api_key_env, base_url):
        errors["api_key_env"] = problem
    return errors


class ServerRefused(UserError):
    """The model's server or key is not allowed (any more); the message is one line."""

    code = "server_refused"


def read_api_key(env_name: str, base_url: str) -> str:
    """The key, at send time ('' when none is named or the variable is unset); ServerRefused
    when the operator's rules no longer allow this variable or this server."""
    if problem := configuration_errors(base_url, env_name):
        raise ServerRefused("; ".join(problem.values()))
    return os.environ.get(env_name, "") if env_name else ""


def http_client(**kwargs: Any) -> httpx.Client:
    """An httpx client for model servers: every request passes the guard with MODEL_URL_ALLOWLIST."""
    return outbound.guarded_client(outbound.MODEL_SERVERS, **kwargs)
