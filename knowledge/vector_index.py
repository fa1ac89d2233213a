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

from django.db import connection, transaction

INDEX_TYPE = "halfvec"  # the cast the index is built on and the ranking orders by


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
