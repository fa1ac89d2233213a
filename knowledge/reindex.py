"""Re-embed a knowledge base into another model without downtime: build new, then switch.

1. The new model's HNSW index is created (partial, on its dimension cast).
2. Every paragraph's new vector is computed in batches and staged (``StagedEmbedding``) while
   search keeps using the old vectors; documents indexed meanwhile still use the old model.
3. One transaction locks the knowledge base (indexing waits for it), stages what was added
   since, copies every staged vector into its paragraph and moves the knowledge base to the new
   model. Readers see the old vectors until the commit and the new ones after it: search never
   finds the knowledge base empty or mixed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction

from knowledge import embeddings, english_vectors, kb_embedding, vector_index
from knowledge.models import KnowledgeBase, Paragraph, StagedEmbedding

BATCH = 256


@dataclass
class Reindexed:
    knowledge_base: KnowledgeBase
    old_model: str
    model: str
    dimensions: int
    paragraphs: int


def _stage_missing(kb: KnowledgeBase, model: str, dims: int, on_batch: Callable[[int], None] | None) -> int:
    """Stage vectors for the paragraphs that have none yet for ``model``; returns how many."""
    done = 0
    while True:
        batch = list(
            Paragraph.objects.filter(knowledge_base=kb)
            .exclude(staged_embeddings__model=model)
            .order_by("id")
            .values_list("id", "content")[:BATCH]
        )
        if not batch:
            return done
        vectors = embeddings.embed([content for _, content in batch], model)
        StagedEmbedding.objects.bulk_create(
            [StagedEmbedding(paragraph_id=pk, knowledge_base=kb, model=model, dimensions=dims, embedding=vector)
             for (pk, _), vector in zip(batch, vectors, strict=True)],
            ignore_conflicts=True,  # a paragraph staged meanwhile by a concurrent run
        )  # fmt: skip
        done += len(batch)
        if on_batch:
            on_batch(done)


def reindex_knowledge_base(kb: KnowledgeBase, model: str | None = None,
                           on_batch: Callable[[int], None] | None = None) -> Reindexed:  # fmt: skip
    """Move ``kb`` and every paragraph in it to ``model`` (default: EMBEDDING_MODEL), re-embedding
    all of them (also when the model is already the knowledge base's: a repair)."""
    model = model or embeddings.model_name()
    dims = kb_embedding.check_model(model)
    old_model = kb.embedding_model
    vector_index.ensure_index(model, dims)
    StagedEmbedding.objects.filter(knowledge_base=kb).exclude(model=model).delete()  # an abandoned earlier run
    _stage_missing(kb, model, dims, on_batch)
    with transaction.atomic():
        kb = KnowledgeBase.objects.select_for_update(no_key=True).get(pk=kb.pk)
        _stage_missing(kb, model, dims, None)  # documents indexed while we staged
        with connection.cursor() as cur:
            cur.execute(
                "UPDATE knowledge_paragraph p SET embedding = s.embedding, embedding_model = s.model, "
                "embedding_dimensions = s.dimensions FROM knowledge_stagedembedding s "
                "WHERE s.paragraph_id = p.id AND s.model = %s AND p.knowledge_base_id = %s",
                [model, kb.pk],
            )
            switched = cur.rowcount
        kb.embedding_model, kb.embedding_dimensions = model, dims
        kb.save(update_fields=["embedding_model", "embedding_dimensions"])
        StagedEmbedding.objects.filter(knowledge_base=kb).delete()
    english_vectors.fill_missing(kb.pk, model)  # independent of the switch: search reads them when there
    return Reindexed(kb, old_model, model, dims, switched)


def needs_reindex(kb: KnowledgeBase, model: str) -> bool:
    """Whether any paragraph of ``kb`` is not embedded with ``model`` (or the base is on another)."""
    if kb.embedding_model and kb.embedding_model != model:
        return True
    return Paragraph.objects.filter(knowledge_base=kb).exclude(embedding_model=model).exists()
