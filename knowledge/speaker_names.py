"""Naming a document's speakers: ``SPEAKER_2`` -> ``Li Wei`` (and back, with an empty name).

The name is stored on the voice in ``Document.speakers`` and written onto the paragraphs that
speaker says, so that search hits, ask citations and exports carry it; the knowledge base learns
the voice under that name (voices.py), so later recordings of it are named too. Naming a speaker
'' undoes a wrong match as well as a wrong name. A name is the user's data:
one line, at most NAME_CHARS, and never markup (the page and the VTT export escape it).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Count, F, Sum

from core.errors import UserError
from knowledge import voices as known_voices
from knowledge.models import Document, KnowledgeBase, Paragraph, ParagraphKind, Status, Voice

NAME_CHARS = 100


class RenameRefused(UserError):
    """The label is not one of the document's speakers, or the document is being processed."""

    code = "rename_refused"


def clean_name(name: str) -> str:
    name = " ".join("".join(ch for ch in name if ch.isprintable()).split())
    if len(name) > NAME_CHARS:
        raise RenameRefused(f"a speaker name is at most {NAME_CHARS} characters")
    return name


def rename(document: Document, label: str, name: str) -> dict[str, str]:
    """Give ``label`` the ``name`` ('' gives it back its label); returns label -> shown name."""
    name = clean_name(name)
    with transaction.atomic():
        document = Document.objects.select_for_update().get(pk=document.pk)
        if document.status != Status.SUCCESS:
            raise RenameRefused(f"speakers can be named once the document is SUCCESS, not {document.status}")
        voices = (document.speakers or {}).get("voices") or {}
        if label not in voices:
            known = ", ".join(voices) or "none: the document was not diarized"
            raise RenameRefused(f"{label!r} is not a speaker of this document (its speakers: {known})")
        shown = {k: v.get("name") or k for k, v in voices.items()}
        new = name or label
        if new != shown[label] and new in shown.values():
            raise RenameRefused(f"another speaker of this document is already called {new!r}")
        Paragraph.objects.filter(document=document, speaker=shown[label]).update(speaker=new)
        old = voices[label]
        if old.get("voice") and old.get("match") is None and "embedding" in old:  # a person taught it: untaught
            known_voices.forget(document.knowledge_base, old["voice"], old["embedding"])
        voice = {k: v for k, v in old.items() if k not in ("name", "voice", "match")}
        if name:  # a person named it: the knowledge base learns this voice under the name
            voice["name"] = name
            if "embedding" in voice:
                voice["voice"] = known_voices.learn(document.knowledge_base, name, voice["embedding"]).pk
        voices[label] = voice
        document.speakers = {**document.speakers, "voices": voices}
        document.save(update_fields=["speakers", "updated_at"])
        return {k: v.get("name") or k for k, v in voices.items()}


def in_knowledge_base(knowledge_base: KnowledgeBase) -> list[dict[str, Any]]:
    """Who speaks in a knowledge base's transcripts, as search and ask filter by them: each name
    (or label, while unnamed) with the documents and seconds it speaks in, and whether the
    knowledge base knows the voice; most documents first."""
    rows = (
        Paragraph.objects.filter(knowledge_base=knowledge_base, kind=ParagraphKind.TRANSCRIPT)
        .exclude(speaker="")
        .values("speaker")
        .annotate(documents=Count("document", distinct=True), seconds=Sum(F("end") - F("start")))
        .order_by("-documents", "speaker")
    )
    known = set(Voice.objects.filter(knowledge_base=knowledge_base).values_list("name", flat=True))
    return [
        {"name": r["speaker"], "documents": r["documents"], "seconds": round(r["seconds"] or 0.0, 1),
         "known_voice": r["speaker"] in known}
        for r in rows
    ]  # fmt: skip
