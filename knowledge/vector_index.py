"""One partial HNSW index per embedding model, on a dimension cast of the untyped column:

    CREATE INDEX ... USING hnsw ((embedding::vector(384)) vector_cosine_ops)
        WHERE embedding_model = '...'

Search uses the same cast and predicate so that the planner can use the index.
"""

from __future__ import annotations

import hashlib

from django.db import connection, transaction


def index_name(model: str, dims: int) -> str:
    digest = hashlib.sha1(f"{model}:{dims}".encode()).hexdigest()[:12]
    return f"paragraph_hnsw_{digest}"


def cast_sql(dims: int, column: str = "embedding") -> str:
    return f"({column}::vector({int(dims)}))"


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
            f"USING hnsw ({cast_sql(dims)} vector_cosine_ops) WHERE embedding_model = '{literal}'"
        )
