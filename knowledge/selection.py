"""Pick documents for the operations commands (reprocess_failed, cancel, reindex) by knowledge
base, age and error type."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.errors import UserError
from knowledge.models import Document, KnowledgeBase, ProcessingRun
from knowledge.names import clean_name

_AGO = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class SelectionError(UserError):
    code = "no_such_selection"


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


def knowledge_base_named(name: str, owner: str = "", *, create: bool = False) -> KnowledgeBase:
    """The knowledge base called ``name`` (of ``owner``, a user name, when given: names are unique
    per owner). SelectionError when there is none (unless ``create``: then it is made, owned by
    ``owner``) or when several owners use the name."""
    bases = KnowledgeBase.objects.filter(name=name).select_related("owner")
    user = None
    if owner:
        user = get_user_model().objects.filter(username=owner).first()
        if user is None:
            raise SelectionError(f"no user named {owner!r}")
        bases = bases.filter(owner=user)
    found = list(bases[:10])
    if len(found) > 1:
        owners = ", ".join(kb.owner.get_username() if kb.owner else "(none)" for kb in found)
        raise SelectionError(f"several knowledge bases are named {name!r} (owners: {owners}); choose one with --owner")
    if found:
        return found[0]
    if create:
        return KnowledgeBase.objects.create(name=clean_name(name, 200) or "imported", owner=user)
    raise SelectionError(f"no knowledge base named {name!r}" + (f" owned by {owner}" if owner else ""))


def select_documents(statuses: list[str] | None = None, *, knowledge: str = "", owner: str = "", since: str = "",
                     error_type: str = "", ids: list[int] | None = None) -> QuerySet[Document]:  # fmt: skip
    documents = Document.objects.all()
    if statuses:
        documents = documents.filter(status__in=statuses)
    if ids:
        documents = documents.filter(pk__in=ids)
    if knowledge:
        documents = documents.filter(knowledge_base=knowledge_base_named(knowledge, owner))
    if since:
        documents = documents.filter(created_at__gte=parse_since(since))
    if error_type:
        documents = documents.annotate(last_error_type=last_error_type()).filter(last_error_type=error_type)
    return documents.order_by("id")


def option_pairs(items: list[str]) -> dict[str, str]:
    """The commands' ``--option KEY=VALUE`` values as a dict; SelectionError for one without "="."""
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SelectionError(f"--option expects KEY=VALUE, got {item!r}")
        pairs[key.strip()] = value.strip()
    return pairs


def add_processing_arguments(parser: CommandParser) -> None:
    """The commands' choice of models and options for what they queue: --model (--stt-model),
    --llm (--llm-model), --language and --option KEY=VALUE (any upload option, the LLM's too)."""
    parser.add_argument(
        "--model",
        "--stt-model",
        dest="model",
        default="",
        help="speech model, name or id (default: the knowledge base's, then the default model)",
    )
    parser.add_argument(
        "--llm",
        "--llm-model",
        dest="llm",
        default="",
        help="LLM, name or id, to polish and summarise (reprocess: 'none' drops the document's)",
    )
    parser.add_argument("--language", default="", help="spoken language (ISO 639-1, or 'auto'; default: detected)")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="an upload option, e.g. segment_duration=120, temperature=0,0.2 or "
                             "enable_summary=false (repeatable)")  # fmt: skip


def processing_options(opts: dict[str, Any]) -> dict[str, str]:
    """The upload options named by ``add_processing_arguments``' --option and --language;
    SelectionError for an --option without "="."""
    raw = option_pairs([str(o) for o in opts.get("option") or []])
    return {**raw, "language": str(opts["language"])} if opts.get("language") else raw


def add_arguments(parser: CommandParser, *, since: bool = True) -> None:
    """The commands' selection options: --knowledge and --owner, and --since."""
    parser.add_argument("--knowledge", default="", help="only this knowledge base (name)")
    parser.add_argument(
        "--owner", default="", help="the knowledge base's owner (user name), when several share its name"
    )
    if since:
        parser.add_argument("--since", default="", help="only documents created since (ISO date/time, or 6h, 2d)")


def documents_for_command(statuses: list[str], opts: dict, **filters: object) -> QuerySet[Document]:
    """``select_documents`` with a command's options; a bad selection is the command's error."""
    try:
        return select_documents(statuses, knowledge=str(opts["knowledge"]), owner=str(opts["owner"]),
                                since=str(opts.get("since") or ""), **filters)  # fmt: skip
    except SelectionError as exc:
        raise CommandError(str(exc))
