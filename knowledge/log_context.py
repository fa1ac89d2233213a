"""Document id and attempt on every log line: ``bind(document=7, attempt=2)`` around work, and
the ``ContextFilter`` on the log handler puts them on each record (``-`` outside any)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_fields: ContextVar[dict[str, Any]] = ContextVar("log_fields", default={})  # noqa: B039 - never mutated


@contextmanager
def bind(**fields: Any) -> Iterator[None]:
    token = _fields.set({**_fields.get(), **fields})
    try:
        yield
    finally:
        _fields.reset(token)


def bound() -> dict[str, Any]:
    return dict(_fields.get())


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        fields = _fields.get()
        record.document = fields.get("document", "-")
        record.attempt = fields.get("attempt", "-")
        return True
