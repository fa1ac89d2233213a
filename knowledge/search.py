"""Search over a knowledge base's paragraphs: by meaning (pgvector HNSW, cosine distance), by
keyword (the stored tsvector, ts_rank_cd), or both fused with reciprocal rank fusion (the
default)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from django.contrib.postgres.search import SearchRank
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.db.models.expressions import RawSQL

from knowledge import embeddings, kb_embedding, text_search
from knowledge.models import KnowledgeBase, Paragraph, Status
from knowledge.vector_index import cast_sql

MODES = ("hybrid", "vector", "keyword")
# Threads start on first use: processes forked before any search (gunicorn and Celery workers) start their own.
_embedder = ThreadPoolExecutor(max_workers=2, thread_name_prefix="query-embedding")
RRF_K = 60  # the usual constant of reciprocal rank fusion: 1 / (60 + rank)
CANDIDATES = 50  # each ranking contributes at least this many candidates to the fusion


@dataclass
class Hit:
    paragraph: Paragraph
    score: float  # cosine similarity (vector), ts_rank_cd (keyword) or the fused RRF score (hybrid)
    vector_score: float | None = None
    keyword_score: float | None = None


def _searchable(knowledge_base: KnowledgeBase) -> QuerySet[Paragraph]:
    return (
        Paragraph.objects.filter(knowledge_base=knowledge_base, document__status=Status.SUCCESS)
        .select_related("document")
        .defer("embedding", "search_vector")  # 384+ floats per row that the hits never show
    )


def embed_query(query: str, model: str) -> np.ndarray:
    return embeddings.embed([query], model)[0]


def vector_search(knowledge_base: KnowledgeBase, query: str, top_k: int = 10,
                  vector: np.ndarray | None = None) -> list[Hit]:  # fmt: skip
    """The ``top_k`` paragraphs closest in meaning to ``query`` (or to its ``vector`` when already
    embedded), best first (score = cosine)."""
    model = kb_embedding.model_of(knowledge_base)
    vector = embed_query(query, model) if vector is None else vector
    dims = len(vector)
    literal = "[" + ",".join(f"{x:.7g}" for x in vector) + "]"
    distance = RawSQL(f"{cast_sql(dims)} <=> %s::vector({dims})", [literal])
    queryset = _searchable(knowledge_base).filter(embedding_model=model).annotate(distance=distance)
    with transaction.atomic():
        with connection.cursor() as cur:
            # Keep scanning the graph until enough rows pass the knowledge-base filter.
            cur.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            cur.execute("SET LOCAL hnsw.ef_search = %s", [max(40, 2 * top_k)])
        rows = list(queryset.order_by("distance")[:top_k])
    hits = [Hit(paragraph=p, score=1.0 - float(p.distance), vector_score=1.0 - float(p.distance)) for p in rows]
    # relaxed_order may return near-ties slightly out of order; present them sorted.
    hits.sort(key=lambda h: h.score, reverse=True)
    return hits


def keyword_search(knowledge_base: KnowledgeBase, query: str, top_k: int = 10) -> list[Hit]:
    """Paragraphs that contain the query's words (English stemmed, Chinese segmented), best first."""
    tsquery = text_search.search_query(query)
    if tsquery is None:
        return []
    rank = SearchRank(F("search_vector"), tsquery, cover_density=True)
    rows = list(
        _searchable(knowledge_base).filter(search_vector=tsquery).annotate(rank=rank).order_by("-rank", "id")[:top_k]
    )
    return [Hit(paragraph=p, score=float(p.rank), keyword_score=float(p.rank)) for p in rows]


def hybrid_search(knowledge_base: KnowledgeBase, query: str, top_k: int = 10,
                  vector: np.ndarray | None = None) -> list[Hit]:  # fmt: skip
    """Both rankings fused: each paragraph scores the sum of 1 / (RRF_K + rank) over the rankings
    it appears in."""
    depth = max(CANDIDATES, 2 * top_k)
    # Embed the query (torch, no database) while the keyword query runs in this thread.
    model = kb_embedding.model_of(knowledge_base)
    embedding = _embedder.submit(embed_query, query, model) if vector is None else None
    keyword = keyword_search(knowledge_base, query, depth)
    vector = embedding.result() if embedding is not None else vector
    fused: dict[int, Hit] = {}
    for hits in (vector_search(knowledge_base, query, depth, vector=vector), keyword):
        for rank, hit in enumerate(hits, 1):
            entry = fused.setdefault(hit.paragraph.pk, Hit(paragraph=hit.paragraph, score=0.0))
            entry.score += 1.0 / (RRF_K + rank)
            entry.vector_score = entry.vector_score if hit.vector_score is None else hit.vector_score
            entry.keyword_score = entry.keyword_score if hit.keyword_score is None else hit.keyword_score
    return sorted(fused.values(), key=lambda h: (-h.score, h.paragraph.pk))[:top_k]


def search(knowledge_base: KnowledgeBase, query: str, top_k: int = 10, mode: str = "hybrid") -> list[Hit]:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    return {"hybrid": hybrid_search, "vector": vector_search, "keyword": keyword_search}[mode](
        knowledge_base, query, top_k
    )
