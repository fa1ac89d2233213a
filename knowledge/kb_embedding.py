"""One embedding model per knowledge base.

A knowledge base's model is fixed by its first indexed document (``EMBEDDING_MODEL`` at that
time) or named when it is created; every paragraph in it is embedded with that model, so its
vectors share one dimension and one HNSW index. Only a reindex changes it (knowledge/reindex.py),
switching every paragraph at once. Writing vectors of another model or dimension is refused:
here with a clear error, and in the database by a check constraint on each paragraph."""

from __future__ import annotations

import numpy as np

from core.errors import UserError
from knowledge import embeddings
from knowledge.models import KnowledgeBase


class EmbeddingMismatch(UserError):
    """Vectors that do not fit the knowledge base's model or dimension."""

    code = "embedding_mismatch"


def model_of(knowledge_base: KnowledgeBase) -> str:
    """The model the knowledge base's paragraphs are (or will be) embedded with."""
    return knowledge_base.embedding_model or embeddings.model_name()


def check_model(name: str) -> int:
    """The model's dimension; EmbeddingMismatch with the reason when it cannot be loaded."""
    try:
        return embeddings.dimensions(name)
    except Exception as exc:  # noqa: BLE001 - sentence-transformers raises many kinds
        raise EmbeddingMismatch(f"cannot load embedding model {name!r}: {type(exc).__name__}: {exc}") from None


def _dimensions(model: str, vectors: np.ndarray) -> int:
    return int(vectors.shape[1]) if len(vectors) else embeddings.dimensions(model)


def settle(knowledge_base_id: int, model: str, vectors: np.ndarray, texts: list[str]) -> tuple[str, np.ndarray]:
    """Inside the write transaction: lock the knowledge base, fix its model if it has none, and
    return the model and vectors to store. Vectors made with another model (a reindex switched
    the knowledge base meanwhile) are made again with the new one; a dimension that differs from
    the knowledge base's is refused."""
    kb = KnowledgeBase.objects.select_for_update(no_key=True).get(pk=knowledge_base_id)
    dims = _dimensions(model, vectors)
    if not kb.embedding_model:
        kb.embedding_model, kb.embedding_dimensions = model, dims
        kb.save(update_fields=["embedding_model", "embedding_dimensions"])
        return model, vectors
    if kb.embedding_model != model:
        model = kb.embedding_model
        vectors = embeddings.embed(texts, model)
        dims = _dimensions(model, vectors)
    if dims != kb.embedding_dimensions:
        raise EmbeddingMismatch(
            f"knowledge base {kb.name!r} holds {kb.embedding_dimensions}-dimension vectors of {kb.embedding_model}, "
            f"but the model now gives {dims}: mixing dimensions is refused; reindex the knowledge base"
        )
    return model, vectors
