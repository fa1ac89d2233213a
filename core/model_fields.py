"""Field declarations the apps' models share."""

from __future__ import annotations

from typing import Any

from django.db import models


def optional_link(to: str | type[models.Model], related_name: str, **options: Any) -> models.ForeignKey:
    """A reference that may be empty, and is emptied (the row kept) when what it points to is
    deleted: an owner, the model a document asked for, a document a source item made."""
    return models.ForeignKey(to, null=True, blank=True, on_delete=models.SET_NULL, related_name=related_name, **options)
