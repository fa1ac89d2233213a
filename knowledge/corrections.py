"""A person corrects a paragraph of a transcript: the text is replaced, embedded again with the
paragraph's model and indexed for keywords at once, its moment kept, and the text before kept as
a revision (who, when). Exports of the transcript's segments show corrected paragraphs too
(``corrected_segments``). The API (knowledge/api/paragraphs.py) and the web page call ``correct``.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from pgvector import HalfVector

from core.errors import UserError
from knowledge import embeddings, english_vectors, text_search
from knowledge.models import Paragraph, ParagraphRevision, Status
from stt_models.providers.base import Segment

MAX_CHARS = 20_000


class CorrectionRefused(UserError):
    """The correction cannot be made as given: a one-line reason."""

    code = "correction_refused"


def correct(paragraph: Paragraph, text: str, user: Any = None) -> Paragraph:
    """Write ``text`` into the paragraph (re-embedded and re-indexed in one transaction with its
    revision); the paragraph unchanged when the text is."""
    text = text.strip()
    if not text:
        raise CorrectionRefused("the corrected text is empty (delete the document to remove its transcript)")
    if len(text) > MAX_CHARS:
        raise CorrectionRefused(f"at most {MAX_CHARS} characters in one paragraph")
    if paragraph.document.status != Status.SUCCESS:
        status = paragraph.document.status
        raise CorrectionRefused(f"a transcript is corrected once its document is SUCCESS, not {status}")
    if text == paragraph.content:
        return paragraph
    model = paragraph.embedding_model or embeddings.model_name()
    vector = embeddings.embed([text], model)[0] if paragraph.embedding is not None else None
    english = english_vectors.paragraph_vectors([text], model)[0] if vector is not None else None
    with transaction.atomic():
        row = Paragraph.objects.select_for_update().get(pk=paragraph.pk)
        ParagraphRevision.objects.create(paragraph=row, previous=row.content, content=text,
                                         user=user if getattr(user, "is_authenticated", False) else None)  # fmt: skip
        row.raw_content = row.raw_content or row.content  # the speech model's text stays beside it
        row.content = text
        row.corrected_at = timezone.now()
        fields = ["content", "raw_content", "corrected_at"]
        if vector is not None:
            row.embedding, row.embedding_model = vector, model
            row.english_embedding = HalfVector(english) if english is not None else None
            fields += ["embedding", "embedding_model", "english_embedding"]
        row.save(update_fields=fields)
        text_search.index_paragraphs([row.pk], [text])
    return row


def corrected_segments(segments: list[Segment], corrected: list[Paragraph]) -> list[Segment]:
    """``segments`` with those inside a corrected transcript paragraph's time replaced by one
    segment of its corrected text (without word times: the words changed)."""
    spans = sorted((p.start, p.end, p.content) for p in corrected)
    if not spans:
        return segments
    out: list[Segment] = []
    placed: set[int] = set()
    for seg in segments:
        middle = (seg.start + seg.end) / 2
        inside = next((i for i, (start, end, _) in enumerate(spans) if start <= middle <= end), None)
        if inside is None:
            out.append(seg)
        elif inside not in placed:
            placed.add(inside)
            start, end, text = spans[inside]
            out.append(Segment(start=start, end=end, text=text))
    return out
