"""No paying twice: a recording whose bytes, speech model and transcription options match a
finished document's reuses that transcript instead of transcribing again, and its paragraphs'
vectors where the knowledge bases share an embedding model.

The match is exact: the same SHA-256 of the media, the same speech model asked for (``auto``
chooses the same model for the same bytes), and the same transcription options (the LLM options
are not part of it: polishing and summaries run again as asked). Any finished document on the
server may give its transcript: reusing it tells the uploader nothing they did not upload; the
API shows where it came from only to a user who may read that document (``knowledge/api``).
"""

from __future__ import annotations

import numpy as np

from knowledge.models import Document, Status
from media_learning.models import TranscriptChunk


def find_donor(document: Document) -> Document | None:
    """The newest finished document with this one's media, speech model and transcription
    options whose transcript is still stored; None when there is none."""
    if not document.sha256 or document.stt_model_id is None or document.knowledge_base.duplicates == "again":
        return None
    return (
        Document.objects.filter(
            sha256=document.sha256,
            status=Status.SUCCESS,
            stt_model_id=document.stt_model_id,
            options=document.options,  # the LLM's are apart (Document.llm_options)
            transcript_chunks__isnull=False,
        )  # fmt: skip
        .exclude(pk=document.pk)
        .distinct()
        .order_by("-updated_at")
        .first()
    )


def copy_transcript(donor: Document, document: Document) -> int:
    """The donor's transcript chunks, as this document's own (replacing any it had)."""
    TranscriptChunk.objects.filter(document=document).delete()
    chunks = list(TranscriptChunk.objects.filter(document=donor).order_by("index"))
    for chunk in chunks:  # Django's way to copy a row: no primary key, a new owner
        chunk.pk, chunk._state.adding, chunk.document = None, True, document
    TranscriptChunk.objects.bulk_create(chunks)
    return len(chunks)


def known_vectors(donor: Document | None, model: str, texts: list[str]) -> dict[str, np.ndarray]:
    """Vectors the donor's paragraphs already have for any of ``texts`` (same embedding model)."""
    if donor is None or not texts:
        return {}
    rows = donor.paragraphs.filter(embedding_model=model, content__in=set(texts)).values_list("content", "embedding")
    return {content: np.asarray(vector, dtype=np.float32) for content, vector in rows if vector is not None}
