"""Keyword search: a stored tsvector per paragraph, for English and Chinese alike.

PostgreSQL's parsers do not split Chinese into words, so CJK runs are written in Simplified
characters (OpenCC) and segmented with jieba
(search mode, which also yields the shorter words inside long ones) and indexed with the
``simple`` configuration; everything else goes through the ``english`` configuration (stemming,
stop words). Each paragraph's terms are also stored as postings (term, count, paragraph length),
and a query's terms, split the same way, are ranked with Okapi BM25 over them: reading ~9,000
postings from one index is faster than checking and ranking the ~5,000 tsvectors that match a
five-word query in 100,000 paragraphs (bench/search.py). (pg_trgm was the other candidate for
Chinese: the embedded PostgreSQL does not ship it, and bench/chinese_keyword.py measures the two
on a server that does.)
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Iterable, Sequence

import jieba
from django.db import connection

from core.scripts import HAN_RUN
from knowledge.chinese_script import simplified

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
_jieba = None
# Function words that carry no topic: kept out of the index and the queries, as the english
# configuration drops "the" and "is".
CJK_STOP_WORDS = frozenset(
    "的 了 是 在 和 与 及 也 就 都 而 又 还 很 把 被 让 给 对 从 向 以 之 其 这 那 这个 那个 这些 那些 一个 一些 "
    "我 你 他 她 它 我们 你们 他们 她们 它们 自己 吗 呢 吧 啊 呀 嘛 么 什么 怎么 怎么样 怎样 为什么 哪 哪里 哪个 "
    "如何 多少 几 是否 会 能 要 可以 应该 需要 有 没有 不 没 个 些 里 上 下 中 时 后 前 时候 因为 所以 但是 如果 "
    "就是 还是 或者 并且 而且 然后 已经 正在 一下 一点 这样 那样 比较 非常 其实 通常".split()
)


def _segmenter():
    global _jieba
    if _jieba is None:
        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        _jieba = jieba
    return _jieba


def split_terms(text: str) -> tuple[list[str], list[str]]:
    """(other words, CJK words) of ``text``; CJK words in Simplified script, so that paragraphs
    and queries in either script meet (jieba's dictionary is Simplified too)."""
    cjk: list[str] = []
    for run in HAN_RUN.findall(text):
        run = simplified(run)
        cjk.extend(w for w in _segmenter().cut_for_search(run) if w.strip() and w not in CJK_STOP_WORDS)
    other = _WORD.findall(HAN_RUN.sub(" ", text))
    return other, cjk


def _as_text(words: Iterable[str]) -> str:
    return " ".join(words)


# Postings from the stored search vectors: one row per term (with its count) and one with the
# empty term per paragraph; both carry the paragraph's length (knowledge.models.Posting).
POSTINGS_SQL = """
INSERT INTO knowledge_posting (paragraph_id, knowledge_base_id, term, tf, length)
SELECT p.id, p.knowledge_base_id, t.term, t.tf, l.length
FROM knowledge_paragraph p
CROSS JOIN LATERAL (
    SELECT coalesce(sum(coalesce(array_length(positions, 1), 1)), 0)::int AS length
    FROM unnest(p.search_vector)) l
CROSS JOIN LATERAL (
    SELECT lexeme AS term, coalesce(array_length(positions, 1), 1)::float8 AS tf
    FROM unnest(p.search_vector)
    UNION ALL SELECT '', 1) t
WHERE p.id = ANY(%s) AND p.search_vector IS NOT NULL
"""


def index_paragraphs(ids: list[int], texts: list[str], embedding_model: str | None = None) -> None:
    """Store the search vectors of these paragraphs and their postings; with ``embedding_model``,
    also give them that model's name in the same UPDATE.

    The UPDATE writes each row anew, and a new row version goes into every index on the table
    whose entry could change: new paragraphs are therefore written without their model's name
    (outside the model's partial HNSW index) and get it here, so that each enters the HNSW graph
    once, not twice (an insert into the graph is the costliest write of indexing)."""
    if not ids:
        return
    other, cjk = zip(*(split_terms(t) for t in texts), strict=True)
    named = ", embedding_model = %s" if embedding_model is not None else ""
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE knowledge_paragraph p SET search_vector = "
            f"to_tsvector('english', v.other) || to_tsvector('simple', v.cjk){named} "
            "FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS v(id, other, cjk) WHERE p.id = v.id",
            [*([embedding_model] if embedding_model is not None else []), ids,
             [_as_text(o) for o in other], [_as_text(c) for c in cjk]],
        )  # fmt: skip
        cur.execute("DELETE FROM knowledge_posting WHERE paragraph_id = ANY(%s)", [ids])
        cur.execute(POSTINGS_SQL, [ids])


def quote_lexeme(word: str) -> str:
    return "'" + word.replace("'", "''").replace("\\", "") + "'"


# Okapi BM25 over the postings: for each paragraph, the sum over the query's terms it holds of
# idf(term) * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / mean length)), the denominator
# computed per posting as tf + c0 + c1 * length (c0 = K1 * (1 - B), c1 = K1 * B / mean length:
# two operations a row instead of five).
K1, B = 1.2, 0.75
# The query's terms (stemmed and segmented as the paragraphs were, by PostgreSQL) each with its
# idf, then one pass over their postings summed per paragraph. The factor K1 + 1, the same for
# every term, is applied to the best only. How many paragraphs hold a term (its idf) is counted
# once and kept for STATS_SECONDS per process (``term_counts``), as the corpus statistics are:
# counting reads as many index entries as scoring does (at 100,000 paragraphs 0.7 of the 3.3 ms a
# five-word query took in PostgreSQL), and an idf needs no more precision than the paragraph count
# it is divided by. Before: a window over the postings (2026-12-07: 7.8 ms), then an index-only
# count per term in the query itself (3.8 ms).
BM25_SQL = """
WITH q AS (SELECT * FROM unnest(%(terms)s::text[], %(idf)s::float8[]) AS q(term, idf)),
scored AS (
    SELECT p.paragraph_id AS id,
           sum(q.idf * p.tf / (p.tf + %(c0)s::float8 + %(c1)s::float8 * p.length)) AS score
    FROM q JOIN knowledge_posting p ON p.knowledge_base_id = %(kb)s AND p.term = q.term
    WHERE true{only}
    GROUP BY p.paragraph_id ORDER BY score DESC, id LIMIT %(scan)s)
SELECT s.id, s.score * (%(k1)s::float8 + 1.0::float8) FROM scored s
JOIN knowledge_paragraph p ON p.id = s.id JOIN knowledge_document d ON d.id = p.document_id
WHERE d.searchable ORDER BY s.score DESC, s.id LIMIT %(depth)s
"""
STATS_SECONDS = 60.0
_stats: dict[int, tuple[float, int, float]] = {}
_term_counts: dict[tuple[int, str], tuple[float, int]] = {}  # (knowledge base, term): (when, paragraphs)
MAX_TERM_COUNTS = 50_000  # kept per process (a few MB); all are dropped when there are more


def forget_stats() -> None:
    """Drop this process's corpus statistics and term counts (they are read again when next needed)."""
    _stats.clear()
    _term_counts.clear()


def corpus_stats(knowledge_base_id: int) -> tuple[int, float]:
    """(paragraphs, mean length in terms) of a knowledge base, from its postings; kept for
    STATS_SECONDS per process (idf and length normalisation need no more precision)."""
    cached = _stats.get(knowledge_base_id)
    now = time.monotonic()
    if cached is not None and now - cached[0] < STATS_SECONDS:
        return cached[1], cached[2]
    with connection.cursor() as cur:
        cur.execute("SELECT count(*), coalesce(avg(length), 1) FROM knowledge_posting "
                    "WHERE knowledge_base_id = %s AND term = ''", [knowledge_base_id])  # fmt: skip
        count, mean = cur.fetchone()
    _stats[knowledge_base_id] = (now, int(count), max(1.0, float(mean)))
    return int(count), max(1.0, float(mean))


def query_terms(other: Sequence[str], cjk: Sequence[str]) -> list[str]:
    """The index terms of a query's words, as the paragraphs' were made (``index_paragraphs``)."""
    with connection.cursor() as cur:
        cur.execute("SELECT tsvector_to_array(to_tsvector('english', %s) || to_tsvector('simple', %s))",
                    [_as_text(other), _as_text(cjk)])  # fmt: skip
        return [term for term in cur.fetchone()[0] if term]


def term_counts(knowledge_base_id: int, terms: Sequence[str]) -> dict[str, int]:
    """How many of a knowledge base's paragraphs hold each term (index-only counts of the
    postings), kept for STATS_SECONDS per process."""
    now = time.monotonic()
    found, missing = {}, []
    for term in terms:
        cached = _term_counts.get((knowledge_base_id, term))
        if cached is not None and now - cached[0] < STATS_SECONDS:
            found[term] = cached[1]
        else:
            missing.append(term)
    if missing:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT t.term, (SELECT count(*) FROM knowledge_posting WHERE knowledge_base_id = %s "
                "AND term = t.term) FROM unnest(%s::text[]) AS t(term)",
                [knowledge_base_id, missing],
            )
            counted = cur.fetchall()
        if len(_term_counts) + len(counted) > MAX_TERM_COUNTS:
            _term_counts.clear()
        for term, n in counted:
            _term_counts[(knowledge_base_id, term)] = (now, int(n))
            found[term] = int(n)
    return found


# The paragraphs of some documents only (a search limited to them); corpus statistics (the
# paragraph count, mean length and each term's paragraphs) stay the knowledge base's, so that
# scores mean the same with or without the limit.
_ONLY_DOCUMENTS = """
      AND p.paragraph_id IN (SELECT id FROM knowledge_paragraph WHERE document_id = ANY(%(documents)s))"""
_ONLY_SPEAKER = """
      AND p.paragraph_id IN (SELECT id FROM knowledge_paragraph
                             WHERE knowledge_base_id = %(kb)s AND lower(speaker) = lower(%(speaker)s))"""


def bm25_ranking(knowledge_base_id: int, query: str, depth: int,
                 documents: Sequence[int] | None = None, speaker: str | None = None,
                 ) -> list[tuple[int, float]]:  # fmt: skip
    """The ``depth`` best (paragraph id, BM25 score) pairs of a knowledge base's SUCCESS
    documents (only ``documents``, ids, and what ``speaker`` says, when given) for ``query``'s
    words, best first."""
    other, cjk = split_terms(query)
    if not other and not cjk:
        return []
    terms = query_terms(other, cjk)
    if not terms:  # stop words only
        return []
    count, mean = corpus_stats(knowledge_base_id)
    count = max(count, 1)
    held = term_counts(knowledge_base_id, terms)
    idf = [math.log(1.0 + (count - held[t] + 0.5) / (held[t] + 0.5)) for t in terms]
    values = {"kb": knowledge_base_id, "terms": terms, "idf": idf, "k1": K1, "c0": K1 * (1 - B),
              "c1": K1 * B / mean, "scan": 4 * depth, "depth": depth}  # fmt: skip
    values["documents"], values["speaker"] = list(documents or []), speaker
    only = (_ONLY_DOCUMENTS if documents is not None else "") + (_ONLY_SPEAKER if speaker is not None else "")
    sql = BM25_SQL.replace("{only}", only)
    with connection.cursor() as cur:
        cur.execute(sql, values)
        return [(pk, float(score)) for pk, score in cur.fetchall()]
