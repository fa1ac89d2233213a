"""One partial HNSW index per embedding model, on a half-precision cast of the untyped column:

    CREATE INDEX ... USING hnsw ((embedding::halfvec(512)) halfvec_cosine_ops)
        WHERE embedding_model = '...'

The stored vectors stay single precision (``vector``); only the index and the ranking use
``halfvec`` (2 bytes a dimension), which halves the graph: at 100,000 paragraphs of 512
dimensions 131 MB against 262 MB, so that it stays in the embedded server's shared buffers
(docs/benchmarks.md, bench/search.py). Search uses the same cast and predicate so that the
planner can use the index.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.db import connection, transaction

INDEX_TYPE = "halfvec"  # the cast the index is built on and the ranking orders by
# HNSW candidate list of a connection's session: the default embedding model's (its
# ``EmbeddingModel.ef_search``, where the measurements are); a model that wants more sets its own
# in a transaction (``set_local``, about 2 ms more a search).
EF_SEARCH = 100
# Keep scanning the graph until enough rows pass the knowledge-base filter (pgvector >= 0.8).
SEARCH_SETTINGS = (
    "SELECT set_config('hnsw.ef_search', %s, {local}), set_config('hnsw.iterative_scan', 'relaxed_order', {local})"
)


def index_name(model: str, dims: int) -> str:
    digest = hashlib.sha1(f"{model}:{dims}:{INDEX_TYPE}".encode()).hexdigest()[:12]
    return f"paragraph_hnsw_{digest}"


def cast_sql(dims: int, column: str = "embedding", kind: str = INDEX_TYPE) -> str:
    """``column`` cast to ``kind`` (``halfvec`` for the index and ranking, ``vector`` for
    arithmetic that wants full precision) of ``dims`` dimensions."""
    if kind not in ("halfvec", "vector"):
        raise ValueError(f"unknown vector type {kind!r}")
    return f"({column}::{kind}({int(dims)}))"


def ensure_index(model: str, dims: int) -> None:
    """Create the index for ``model`` if missing (idempotent, safe between concurrent workers).
    It only issues DDL when the index is really missing: PostgreSQL refuses even a no-op
    CREATE INDEX on a table with pending deferred-constraint events."""
    name = index_name(model, dims)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [name])
        if cur.fetchone():
            return
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [name])
        literal = model.replace("'", "''")
        cur.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON knowledge_paragraph "
            f"USING hnsw ({cast_sql(dims)} {INDEX_TYPE}_cosine_ops) WHERE embedding_model = '{literal}'"
        )


def configure_session(sender: Any, connection: Any, **kwargs: Any) -> None:
    """connection_created: give a new PostgreSQL connection the HNSW search settings for its
    whole session (``SEARCH_SESSION_SETTINGS``), so that a vector query needs no transaction of
    its own to set them (BEGIN, SET and COMMIT cost about 2 ms a search on 2 cores)."""
    if connection.vendor != "postgresql" or not settings.SEARCH_SESSION_SETTINGS:
        return
    with connection.cursor() as cur:  # the connection is in autocommit here: the settings hold for the session
        cur.execute(SEARCH_SETTINGS.format(local="false"), [str(EF_SEARCH)])
    connection.hnsw_session = True


def session_ready(ef_search: int) -> bool:
    """Whether this thread's connection already searches with ``ef_search`` (or more) candidates."""
    return getattr(connection, "hnsw_session", False) and ef_search <= EF_SEARCH and connection.connection is not None


def set_local(cur: Any, ef_search: int) -> None:
    """The HNSW settings for the current transaction only."""
    cur.execute(SEARCH_SETTINGS.format(local="true"), [str(ef_search)])
