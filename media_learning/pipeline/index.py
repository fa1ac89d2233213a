"""Embed paragraph drafts and replace a document's paragraphs."""

from __future__ import annotations

import numpy as np

from knowledge import embeddings, kb_embedding, text_search, vector_index
from knowledge.models import Document, Paragraph
from media_learning.pipeline.split import ParagraphDraft


def embed_drafts(document: Document, drafts: list[ParagraphDraft]) -> tuple[str, np.ndarray]:
    """Vectors from the document's knowledge base's model (knowledge/kb_embedding.py)."""
    model = kb_embedding.model_of(document.knowledge_base)
    return model, embeddings.embed([d.content for d in drafts], model)


def prepare_index(model: str, vectors: np.ndarray) -> None:
    """Make sure the model's HNSW index exists; call before the write transaction (PostgreSQL
    refuses CREATE INDEX on a table with pending deferred-constraint events)."""
    if len(vectors):
        vector_index.ensure_index(model, int(vectors.shape[1]))


def replace_paragraphs(document: Document, drafts: list[ParagraphDraft], model: str, vectors: np.ndarray) -> int:
    """Delete the document's paragraphs and insert the new ones; call inside a transaction. The
    knowledge base's model is checked (and fixed, for its first document) under its row lock."""
    texts = [d.content for d in drafts]
    model, vectors = kb_embedding.settle(document.knowledge_base_id, model, vectors, texts)
    dims = int(vectors.shape[1]) if len(vectors) else None
    Paragraph.objects.filter(document=document).delete()
    created = Paragraph.objects.bulk_create(
        Paragraph(
            document=document,
            knowledge_base_id=document.knowledge_base_id,
            position=i,
            kind=draft.kind,
            title=draft.title,
            content=draft.content,
            raw_content=draft.raw_content,
            start=round(draft.start, 3),
            end=round(draft.end, 3),
            embedding=vector,
            embedding_model=model,
            embedding_dimensions=dims,
        )
        for i, (draft, vector) in enumerate(zip(drafts, vectors, strict=True))
    )
    text_search.index_paragraphs([p.pk for p in created], [p.content for p in created])
    return len(drafts)
