"""Keyword search: a stored tsvector per paragraph, for English and Chinese alike.

PostgreSQL's parsers do not split Chinese into words, so CJK runs are segmented with jieba
(search mode, which also yields the shorter words inside long ones) and indexed with the
``simple`` configuration; everything else goes through the ``english`` configuration (stemming,
stop words). Queries are split the same way and OR-ed, so ``ts_rank_cd`` rewards paragraphs
that match more of the query. (pg_trgm was the other candidate: the embedded PostgreSQL does
not ship it, and bench/chinese_keyword.py measures the two on a server that does.)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from django.contrib.postgres.search import SearchQuery
from django.db import connection

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
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
        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        _jieba = jieba
    return _jieba


def split_terms(text: str) -> tuple[list[str], list[str]]:
    """(other words, CJK words) of ``text``."""
    cjk: list[str] = []
    for run in _CJK_RUN.findall(text):
        cjk.extend(w for w in _segmenter().cut_for_search(run) if w.strip() and w not in CJK_STOP_WORDS)
    other = _WORD.findall(_CJK_RUN.sub(" ", text))
    return other, cjk


def _as_text(words: Iterable[str]) -> str:
    return " ".join(words)


def index_paragraphs(ids: list[int], texts: list[str]) -> None:
    """Store the search vectors of these paragraphs (one statement)."""
    if not ids:
        return
    other, cjk = zip(*(split_terms(t) for t in texts), strict=True)
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE knowledge_paragraph p SET search_vector = "
            "to_tsvector('english', v.other) || to_tsvector('simple', v.cjk) "
            "FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS v(id, other, cjk) WHERE p.id = v.id",
            [ids, [_as_text(o) for o in other], [_as_text(c) for c in cjk]],
        )


def quote_lexeme(word: str) -> str:
    return "'" + word.replace("'", "''").replace("\\", "") + "'"


def search_query(query: str) -> SearchQuery | None:
    """The tsquery for ``query``: its words OR-ed (None when it has no searchable word)."""
    other, cjk = split_terms(query)
    parts = []
    if other:
        terms = " | ".join(quote_lexeme(w.lower()) for w in dict.fromkeys(other))
        parts.append(SearchQuery(terms, search_type="raw", config="english"))
    if cjk:
        parts.append(
            SearchQuery(" | ".join(quote_lexeme(w) for w in dict.fromkeys(cjk)), search_type="raw", config="simple")
        )
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else parts[0] | parts[1]
