"""Semantic search over a knowledge base's paragraphs (pgvector HNSW, cosine distance)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models.expressions import RawSQL

from knowledge import embeddings
from knowledge.models import KnowledgeBase, Paragraph, Status
from knowledge.vector_index import cast_sql


@dataclass
class Hit:
    paragraph: Paragraph
    score: float


def search(knowledge_base: KnowledgeBase, query: str, top_k: int = 10) -> list[Hit]:
    """The ``top_k`` paragraphs closest in meaning to ``query``, best first (score = cosine)."""
    model = embeddings.model_name()
    vector = embeddings.embed([query], model)[0]
    dims = len(vector)
    literal = "[" + ",".join(f"{x:.7g}" for x in vector) + "]"
    distance = RawSQL(f"{cast_sql(dims)} <=> %s::vector({dims})", [literal])
    queryset = (
        Paragraph.objects.filter(knowledge_base=knowledge_base, embedding_model=model, document__status=Status.SUCCESS)
        .select_related("document")
        .annotate(distance=distance)
        .order_by("distance")[:top_k]
    )
    with transaction.atomic():
        with connection.cursor() as cur:
            # Keep scanning the graph until enough rows pass the knowledge-base filter.
            cur.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            cur.execute("SET LOCAL hnsw.ef_search = %s", [max(40, 2 * top_k)])
        rows = list(queryset)
    hits = [Hit(paragraph=p, score=1.0 - float(p.distance)) for p in rows]
    # relaxed_order may return near-ties slightly out of order; present them sorted.
    hits.sort(key=lambda h: h.score, reverse=True)
    return hits
