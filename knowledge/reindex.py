"""Re-embed documents' paragraphs with the current embedding model (after EMBEDDING_MODEL
changes): each document's new vectors are computed first, then swapped in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db import transaction

from knowledge import embeddings, vector_index
from knowledge.models import Document, Paragraph


def reindex_document(document: Document, model: str) -> int:
    paragraphs = list(document.paragraphs.order_by("position"))
    if not paragraphs:
        return 0
    vectors = embeddings.embed([p.content for p in paragraphs], model)
    vector_index.ensure_index(model, int(vectors.shape[1]))
    for paragraph, vector in zip(paragraphs, vectors, strict=True):
        paragraph.embedding, paragraph.embedding_model = vector, model
    with transaction.atomic():
        Paragraph.objects.bulk_update(paragraphs, ["embedding", "embedding_model"], batch_size=500)
    return len(paragraphs)


def reindex(documents: Iterable[Document], model: str | None = None,
            on_document: Callable[[Document, int], None] | None = None) -> int:  # fmt: skip
    model = model or embeddings.model_name()
    total = 0
    for document in documents:
        count = reindex_document(document, model)
        total += count
        if on_document:
            on_document(document, count)
    return total
