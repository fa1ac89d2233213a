"""Embed paragraph drafts and replace a document's paragraphs."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from django.db import connection
from pgvector import HalfVector
from pgvector.psycopg import register_vector
from psycopg.types.json import Jsonb

from knowledge import embeddings, english_vectors, kb_embedding, text_search, vector_index
from knowledge.models import Document, Paragraph
from media_learning.pipeline import reuse
from media_learning.pipeline.speakers import display_names
from media_learning.pipeline.split import ParagraphDraft


def embed_drafts(document: Document, drafts: list[ParagraphDraft]) -> tuple[str, np.ndarray]:
    """Vectors from the document's knowledge base's model (knowledge/kb_embedding.py); a document
    that reused another's transcript takes the vectors that one already has for the same text."""
    model = kb_embedding.model_of(document.knowledge_base)
    texts = [d.content for d in drafts]
    known = reuse.known_vectors(document.reused_from, model, texts) if document.reused_from_id else {}
    if not known:
        return model, embeddings.embed(texts, model)
    missing = list(dict.fromkeys(t for t in texts if t not in known))
    if missing:
        known.update(zip(missing, embeddings.embed(missing, model), strict=True))
    return model, np.vstack([known[t] for t in texts]).astype(np.float32)


def english_drafts(drafts: list[ParagraphDraft], model: str) -> list[np.ndarray | None]:
    """The MiniLM vector of each English draft, where the knowledge base's ``model`` takes that
    second opinion (knowledge/english_vectors.py); None for the others."""
    return english_vectors.paragraph_vectors([d.content for d in drafts], model)


def prepare_index(model: str, vectors: np.ndarray) -> None:
    """Make sure the model's HNSW index exists; call before the write transaction (PostgreSQL
    refuses CREATE INDEX on a table with pending deferred-constraint events)."""
    if len(vectors):
        vector_index.ensure_index(model, int(vectors.shape[1]))


COPY_COLUMNS = (
    'document_id, knowledge_base_id, position, kind, title, content, raw_content, start, "end", embedding, '
    "embedding_model, embedding_dimensions, speaker, cues, english_embedding"
)
COPY_TYPES = ["bigint", "bigint", "integer", "varchar", "varchar", "text", "text", "float8", "float8", "vector",
              "varchar", "integer", "varchar", "jsonb", "halfvec"]  # fmt: skip


def _copy_rows(rows: Iterable[tuple]) -> None:
    """Binary COPY: vectors go as packed floats, with no text formatting here or parsing in
    PostgreSQL (several times faster than a multi-row INSERT of 384-float literals)."""
    raw = connection.connection
    if raw.adapters.types.get("vector") is None:  # the vector type's binary dumper, once per connection
        register_vector(raw)
    with (
        connection.cursor() as cur,
        cur.cursor.copy(f"COPY knowledge_paragraph ({COPY_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.set_types(COPY_TYPES)
        for row in rows:
            copy.write_row(row)


def replace_paragraphs(document: Document, drafts: list[ParagraphDraft], model: str, vectors: np.ndarray,
                       english: list[np.ndarray | None] | None = None) -> int:  # fmt: skip
    """Delete the document's paragraphs and insert the new ones; call inside a transaction. The
    knowledge base's model is checked (and fixed, for its first document) under its row lock.
    ``english``: ``english_drafts``'s vectors, made here when not given (the pipeline makes them
    before its transaction)."""
    texts = [d.content for d in drafts]
    names = display_names(document.speakers)
    settled, vectors = kb_embedding.settle(document.knowledge_base_id, model, vectors, texts)
    if english is None or settled != model:
        english = english_drafts(drafts, settled)
    model = settled
    dims = int(vectors.shape[1]) if len(vectors) else None
    Paragraph.objects.filter(document=document).delete()
    rows = (
        (document.pk, document.knowledge_base_id, i, draft.kind, draft.title, draft.content, draft.raw_content,
         round(draft.start, 3), round(draft.end, 3), vector, "", dims, names.get(draft.speaker, draft.speaker),
         Jsonb(draft.cues), HalfVector(extra) if extra is not None else None)
        for i, (draft, vector, extra) in enumerate(zip(drafts, vectors, english, strict=True))
    )  # fmt: skip
    _copy_rows(rows)  # without the model's name: the rows enter its HNSW index with the UPDATE below
    stored = list(Paragraph.objects.filter(document=document).order_by("position").values_list("id", "content"))
    text_search.index_paragraphs([pk for pk, _ in stored], [content for _, content in stored], embedding_model=model)
    return len(drafts)
