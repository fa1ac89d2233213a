"""Plumbing the model registries share (speech models, LLMs, embedding models): the id-or-name
lookup, row ids from user text, and the ``/models`` probe of an OpenAI-style server."""

from __future__ import annotations

from typing import TypeVar

import httpx
from django.db.models import Model, QuerySet

from core import model_servers
from core.outbound import AddressRefused

M = TypeVar("M", bound=Model)

MAX_ID = 2**63 - 1  # PostgreSQL's bigint


def parse_id(text: str) -> int | None:
    """``text`` as a row id: ASCII digits only (``"²".isdigit()`` is true, ``int("²")`` fails)
    within bigint's range; None for anything else."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_ID:
        return None
    return int(text)


def find_by_id_or_name(queryset: QuerySet[M], ref: str | int) -> M | None:
    """The row whose id (all digits) or name is ``ref``; shared by the speech and LLM registries."""
    text = str(ref).strip()
    pk = parse_id(text)
    return (queryset.filter(pk=pk) if pk is not None else queryset.filter(name=text)).first()


def resolve(queryset: QuerySet[M], ref: str | int | None, not_found: type[Exception], what: str, field: str) -> M:
    """The registry row named by ``ref`` (id or name), or the default row when ``ref`` is empty;
    ``not_found`` with a one-line reason otherwise (``what``: "speech model", ``field``: the
    request's field that names it)."""
    if ref in (None, ""):
        model = queryset.filter(is_default=True).first()
        if model is None:
            raise not_found(f"no {field} given and no default {what} is configured")
        return model
    model = find_by_id_or_name(queryset, ref)
    if model is None:
        raise not_found(f"unknown {what} {str(ref).strip()!r}")
    return model


def probe_api(base_url: str, key: str, key_env: str, timeout: float = 5.0) -> tuple[str, httpx.Response | None]:
    """``GET {base_url}/models`` with the key: the problem ('' when none) and the response. Shared
    by the speech and LLM registries; the key itself never appears in the problem."""
    base = base_url.rstrip("/")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        with model_servers.http_client(timeout=timeout) as client:
            response = client.get(f"{base}/models", headers=headers)
    except httpx.HTTPError as exc:
        return f"cannot reach {base}: {type(exc).__name__}", None
    except AddressRefused as exc:
        return str(exc), None
    if response.status_code in (401, 403):
        return f"{base} rejected the key from {key_env or 'the environment'} ({response.status_code})", response
    if response.status_code >= 500:
        return f"{base} answered {response.status_code}", response
    return "", response
