"""Search over a knowledge base's paragraphs: by meaning (pgvector HNSW, cosine distance), by
keyword (BM25 over postings of the stored tsvectors), or both fused (the default: cosine plus a
small share of BM25, see ``fuse``). Any of them can be limited to some of the knowledge base's
documents.

Each ranking is a query for (paragraph id, score) pairs only; the rows of the hits that are
shown are read once, at the end."""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import connection, transaction

from knowledge import embeddings, english_vectors, kb_embedding, language_bias, text_search, vector_index
from knowledge.chinese_script import to_script
from knowledge.models import Document, KnowledgeBase, Paragraph
from knowledge.vector_index import cast_sql

log = logging.getLogger(__name__)

MODES = ("hybrid", "vector", "keyword")
# Query embeddings of sentence-transformers models run here (ONNX Runtime releases the GIL) while
# the request thread ranks by keyword; the threads touch no database. They start on first use: processes forked
# before any search (gunicorn and Celery workers) start their own.
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="search")
KEYWORD_WEIGHT = 0.05  # of the best keyword match, added to a cosine similarity (fuse)
CANDIDATES = 50  # each ranking contributes at least this many candidates to the fusion

SHOWN = ("document_id", "knowledge_base_id", "position", "kind", "title", "content", "start", "end", "speaker")
DOCUMENT_SHOWN = ("name", "file")
Ranking = list[tuple[int, float]]  # (paragraph id, score), best first


@dataclass(frozen=True)
class Scope:
    """What a search is limited to: some documents (ids), and/or what one speaker says (its
    name, or its label while unnamed; compared without case)."""

    documents: Sequence[int] | None = None
    speaker: str | None = None


Documents = Sequence[int] | Scope | None  # ids of the documents a search is limited to, or a Scope (None: all)


def scope_of(documents: Documents) -> Scope:
    return documents if isinstance(documents, Scope) else Scope(documents=documents)


@dataclass
class Hit:
    paragraph: Paragraph
    score: float  # cosine similarity (vector), BM25 (keyword) or the fused score (hybrid: ``fuse``)
    vector_score: float | None = None
    keyword_score: float | None = None


# Paragraphs of searchable documents: finished once, and still while they are re-run (their old
# paragraphs until the new ones replace them in one transaction).
_VISIBLE = (
    "FROM knowledge_paragraph p JOIN knowledge_document d ON d.id = p.document_id "
    "WHERE p.knowledge_base_id = %s AND d.searchable"
)


def embed_query(query: str, model: str) -> np.ndarray:
    return embeddings.embed_one(query, model)


def query_vector(knowledge_base: KnowledgeBase, query: str, model: str) -> np.ndarray:
    """The query's vector for ranking by meaning: its Chinese in the knowledge base's script,
    and without the offset that sets the knowledge base's languages apart (language_bias)."""
    vector = embed_query(to_script(query, knowledge_base.script), model)
    return language_bias.neutral(knowledge_base.pk, model, vector)


def vector_ranking(knowledge_base: KnowledgeBase, vector: np.ndarray, depth: int,
                   documents: Documents = None) -> Ranking:  # fmt: skip
    """The ``depth`` paragraph ids closest to ``vector`` (cosine similarity), from the HNSW
    index of the knowledge base's model; only of ``documents`` (ids) when given."""
    return [(pk, cosine) for pk, cosine, _ in _closest(knowledge_base, vector, depth, documents)]


@functools.cache
def _literal_format(dimensions: int) -> str:
    return "[" + ",".join(["%.7g"] * dimensions) + "]"


def _literal(vector: np.ndarray) -> str:
    """pgvector's text form of a vector, cast to the column's type in the query: one %-format of
    all its numbers (a third of the time of formatting them one by one, 0.1 ms for 512)."""
    return _literal_format(len(vector)) % tuple(vector.tolist())


def _closest(knowledge_base: KnowledgeBase, vector: np.ndarray, depth: int, documents: Documents = None,
             english: np.ndarray | None = None) -> list[tuple[int, float, float | None]]:  # fmt: skip
    """``vector_ranking``'s rows, each with its MiniLM cosine with ``english`` (None without one,
    or for a paragraph without an English vector), read in the same query."""
    model = kb_embedding.model_of(knowledge_base)
    dims = len(vector)
    literal = _literal(vector)
    distance = f"{cast_sql(dims, 'p.embedding')} <=> {cast_sql(dims, '%s')}"
    other, params = "NULL::float8", [literal]
    if english is not None:
        other = "1 - (p.english_embedding <=> %s::halfvec)"
        params.append(_literal(english))
    scope, only, limits = scope_of(documents), "", []
    if scope.documents is not None:
        only, limits = " AND p.document_id = ANY(%s)", [list(scope.documents)]
    if scope.speaker is not None:
        only, limits = only + " AND lower(p.speaker) = lower(%s)", [*limits, scope.speaker]
    sql = (f"SELECT p.id, {distance} AS distance, {other} {_VISIBLE} AND p.embedding_model = %s{only} "
           "ORDER BY distance LIMIT %s")  # fmt: skip
    params = [*params, knowledge_base.pk, model, *limits, depth]
    ef_search = max(embeddings.describe(model).ef_search, 2 * depth)
    if vector_index.session_ready(ef_search):  # the connection's session has the settings
        with connection.cursor() as cur:
            cur.execute(sql, params)
            rows = cur.fetchall()
    else:
        with transaction.atomic(), connection.cursor() as cur:
            vector_index.set_local(cur, ef_search)
            cur.execute(sql, params)
            rows = cur.fetchall()
    # relaxed_order may return near-ties slightly out of order; present them sorted.
    found = [(pk, 1.0 - float(distance), None if o is None else float(o)) for pk, distance, o in rows]
    return sorted(found, key=lambda r: -r[1])


def meaning_ranking(knowledge_base: KnowledgeBase, vector: np.ndarray, depth: int, documents: Documents = None,
                    english: np.ndarray | None = None) -> tuple[Ranking, dict[int, float]]:  # fmt: skip
    """The ranking by meaning, best first: ``vector_ranking`` with each English paragraph's
    cosine mixed with MiniLM's for an English question's ``english`` vector (english_vectors);
    and the knowledge base's model's own cosine of each, by paragraph id."""
    rows = _closest(knowledge_base, vector, depth, documents, english)
    cosine = {pk: cos for pk, cos, _ in rows}
    model = kb_embedding.model_of(knowledge_base)
    return english_vectors.mixed([(pk, cos, other) for pk, cos, other in rows], model), cosine


def keyword_ranking(knowledge_base: KnowledgeBase, query: str, depth: int, documents: Documents = None) -> Ranking:
    """The ``depth`` best paragraph ids for the query's words (English stemmed, Chinese
    segmented), by BM25 over the knowledge base's postings; only of ``documents`` when given."""
    scope = scope_of(documents)
    return text_search.bm25_ranking(knowledge_base.pk, query, depth, documents=scope.documents, speaker=scope.speaker)


@functools.cache
def _fields(model: type, names: tuple[str, ...]) -> tuple:
    """The concrete fields of ``model`` named in ``names`` (and its primary key), in the
    model's order, as ``Model.from_db`` wants the values."""
    wanted = {"id", *names}
    return tuple(f for f in model._meta.concrete_fields if f.attname in wanted)


def load_rows(ranking: Ranking) -> dict[int, Paragraph]:
    """The rows (with their documents) of the paragraphs in a ranking, by id: what a hit shows
    (``SHOWN``), the rest loading on use. One query, read into model instances with
    ``Model.from_db``: the ORM's queryset took 2.6-3 ms for ten hits, this 0.7-0.9 ms."""
    ids = [pk for pk, _ in ranking]
    if not ids:
        return {}
    paragraph_fields, document_fields = _fields(Paragraph, SHOWN), _fields(Document, DOCUMENT_SHOWN)
    columns = [f"p.{connection.ops.quote_name(f.column)}" for f in paragraph_fields]
    columns += [f"d.{connection.ops.quote_name(f.column)}" for f in document_fields]
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT {', '.join(columns)} FROM knowledge_paragraph p "
            "JOIN knowledge_document d ON d.id = p.document_id WHERE p.id = ANY(%s)",
            [ids],
        )
        rows = cur.fetchall()
    split, alias = len(paragraph_fields), connection.alias
    paragraph_names = [f.attname for f in paragraph_fields]
    document_names = [f.attname for f in document_fields]
    found = {}
    for row in rows:
        paragraph = Paragraph.from_db(alias, paragraph_names, row[:split])
        paragraph.document = Document.from_db(alias, document_names, row[split:])
        found[paragraph.pk] = paragraph
    return found


def vector_search(knowledge_base: KnowledgeBase, query: str, top_k: int = 10,
                  vector: np.ndarray | None = None, documents: Documents = None) -> list[Hit]:  # fmt: skip
    """The ``top_k`` paragraphs closest in meaning to ``query`` (or to its ``vector`` when already
    embedded), best first (score = cosine, mixed with MiniLM's for an English question over
    English paragraphs: english_vectors; vector_score = the knowledge base's model's own)."""
    model = kb_embedding.model_of(knowledge_base)
    vector = query_vector(knowledge_base, query, model) if vector is None else vector
    english = english_vectors.query_vector(query, model)
    depth = top_k if english is None else max(top_k, CANDIDATES)  # MiniLM may reorder the candidates
    ranking, cosine = meaning_ranking(knowledge_base, vector, depth, documents, english)
    ranking = ranking[:top_k]
    rows = load_rows(ranking)
    return [Hit(rows[pk], score, vector_score=cosine[pk]) for pk, score in ranking if pk in rows]


def keyword_search(knowledge_base: KnowledgeBase, query: str, top_k: int = 10,
                   documents: Documents = None) -> list[Hit]:  # fmt: skip
    """Paragraphs that contain the query's words, best first."""
    ranking = keyword_ranking(knowledge_base, query, top_k, documents)
    rows = load_rows(ranking)
    return [Hit(rows[pk], score, keyword_score=score) for pk, score in ranking if pk in rows]


def fuse(rankings: list[Ranking], top_k: int) -> list[tuple[int, float]]:
    """The meaning ranking and the keyword ranking in one: each paragraph scores its cosine
    similarity plus KEYWORD_WEIGHT times its BM25 score over the best BM25 score of the query
    (a paragraph only the keywords found takes the lowest cosine of the meaning ranking); ties go
    to the lower id. ``rankings`` is [by meaning, by keyword].

    Not reciprocal rank fusion: RRF counts a keyword hit as much as the best match in meaning,
    and adjacent ranks differ by almost nothing, so a paragraph that merely shares a word with
    the query in its own language outranked the right paragraph in the other language (on
    bench/bilingual.py, Chinese questions about English recordings found the right one first 15
    times in 100 with RRF, 82 with this). Keywords still settle close calls and lift exact terms
    (codes, names) that the meaning ranking also places near the top."""
    by_meaning, by_keyword = (list(rankings) + [[], []])[:2]
    cosine = dict(by_meaning)
    floor = min(cosine.values()) if cosine else 0.0
    best = max((score for _, score in by_keyword), default=0.0)
    fused = dict(cosine)
    if best > 0:
        for pk, score in by_keyword:
            fused[pk] = cosine.get(pk, floor) + KEYWORD_WEIGHT * score / best
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:top_k]


def hybrid_search(knowledge_base: KnowledgeBase, query: str, top_k: int = 10,
                  vector: np.ndarray | None = None, documents: Documents = None) -> list[Hit]:  # fmt: skip
    """Both rankings fused (``fuse``); each hit also carries its cosine and BM25 score.

    A sentence-transformers query is embedded in a pool thread while this thread runs the
    keyword ranking; USE's (numpy, about 1 ms) is embedded here first, where handing it to a
    thread cost more than it saved (bench/search.py at 100,000 paragraphs, three rounds: p95
    13.3-13.6 ms inline against 15.6-16.4 in the pool, p50 the same). So is an English
    question's MiniLM vector (8-bit ONNX Runtime, 1.5-3 ms), whose cosines with the candidates'
    English vectors the vector ranking reads in the same query (meaning_ranking); in the pool it
    was no faster (20,000 paragraphs, one process, alternating: p95 16.6 ms pooled, 14.4 inline,
    11.2 without MiniLM). The vector ranking follows on this thread's connection. (Running the
    two rankings on two connections at once was no faster on 2 cores, bench/search.py: p50
    21-27 ms against 18-22.)"""
    depth = max(CANDIDATES, 2 * top_k)
    model = kb_embedding.model_of(knowledge_base)
    english = english_vectors.query_vector(query, model)
    if vector is None and embeddings.describe(model).provider == embeddings.USEM3:
        vector = query_vector(knowledge_base, query, model)
    embedding = _pool.submit(embed_query, to_script(query, knowledge_base.script), model) if vector is None else None
    keyword = keyword_ranking(knowledge_base, query, depth, documents)
    if embedding is not None:  # the language offset is read here: a transaction's own rows count
        vector = language_bias.neutral(knowledge_base.pk, model, embedding.result())
    by_meaning, cosine = meaning_ranking(knowledge_base, vector, depth, documents, english)
    best = fuse([by_meaning, keyword], top_k)
    rows = load_rows(best)
    rank = dict(keyword)
    return [Hit(rows[pk], score, cosine.get(pk), rank.get(pk)) for pk, score in best if pk in rows]


WARMED = threading.Event()  # set once this process has warmed up (or tried to)


def warm_up() -> None:
    """Load what a first search needs: the default embedding model with its query encoder (and
    MiniLM's, where it gives English questions a second opinion), and jieba's dictionary (web
    workers call it before they take requests, see settings/gunicorn.py)."""
    started = time.perf_counter()
    try:
        embed_query("warm up", embeddings.model_name())
        english_vectors.query_vector("warm up", embeddings.model_name())
        text_search.split_terms("预热 warm up")
    except Exception:  # best effort: the first search reports real errors
        log.exception("search warm-up failed")
        return
    finally:
        WARMED.set()
    log.info("search warmed up in %.1f s (%s)", time.perf_counter() - started, embeddings.model_name())


def warm() -> bool:
    """Whether this process answers searches at full speed (warmed up, or warm-up is off)."""
    return WARMED.is_set() or not settings.SEARCH_WARMUP


def search(knowledge_base: KnowledgeBase, query: str, top_k: int = 10, mode: str = "hybrid",
           documents: Documents = None) -> list[Hit]:  # fmt: skip
    """The ``top_k`` best paragraphs for ``query`` by ``mode``; only of ``documents`` (ids of
    the knowledge base's documents) when given."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    return {"hybrid": hybrid_search, "vector": vector_search, "keyword": keyword_search}[mode](
        knowledge_base, query, top_k, documents=documents
    )
