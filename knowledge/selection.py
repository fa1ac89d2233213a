"""Pick documents for the operations commands (reprocess_failed, cancel, reindex) by knowledge
base, age and error type."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from knowledge.models import Document, KnowledgeBase, ProcessingRun

_AGO = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class SelectionError(ValueError):
    pass


def parse_since(text: str) -> datetime:
    """An ISO date/time, or an age such as 30m, 6h, 2d."""
    text = text.strip()
    if match := _AGO.match(text):
        return timezone.now() - timedelta(**{_UNITS[match[2]]: float(match[1])})
    when = parse_datetime(text) or parse_datetime(f"{text}T00:00:00")
    if when is None:
        raise SelectionError(f"--since expects an ISO date/time or an age like 6h or 2d, not {text!r}")
    return when if timezone.is_aware(when) else timezone.make_aware(when)


def last_error_type() -> Subquery:
    """The error type of each document's latest processing run."""
    latest = ProcessingRun.objects.filter(document=OuterRef("pk")).order_by("-attempt")
    return Subquery(latest.values("error_type")[:1])


def select_documents(statuses: list[str] | None = None, *, knowledge: str = "", since: str = "",
                     error_type: str = "", ids: list[int] | None = None) -> QuerySet[Document]:  # fmt: skip
    documents = Document.objects.all()
    if statuses:
        documents = documents.filter(status__in=statuses)
    if ids:
        documents = documents.filter(pk__in=ids)
    if knowledge:
        kb = KnowledgeBase.objects.filter(name=knowledge).first()
        if kb is None:
            raise SelectionError(f"no knowledge base named {knowledge!r}")
        documents = documents.filter(knowledge_base=kb)
    if since:
        documents = documents.filter(created_at__gte=parse_since(since))
    if error_type:
        documents = documents.annotate(last_error_type=last_error_type()).filter(last_error_type=error_type)
    return documents.order_by("id")
