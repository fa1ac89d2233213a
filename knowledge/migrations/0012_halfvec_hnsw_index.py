"""The HNSW indexes move from ``vector`` to ``halfvec`` (half the size; knowledge/vector_index.py).

Each partial index on ``embedding::vector(N)`` is dropped and rebuilt on ``embedding::halfvec(N)``
for every embedding model present. The SQL is written out here, not imported, so that this
migration keeps meaning what it meant when later code changes.
"""

import hashlib

from django.db import migrations


def _name(model: str, dims: int, kind: str) -> str:
    key = f"{model}:{dims}:halfvec" if kind == "halfvec" else f"{model}:{dims}"
    return "paragraph_hnsw_" + hashlib.sha1(key.encode()).hexdigest()[:12]


def _rebuild(schema_editor, old: str, new: str) -> None:
    with schema_editor.connection.cursor() as cur:
        cur.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'knowledge_paragraph' "
            "AND indexname LIKE 'paragraph_hnsw_%%' AND indexdef LIKE %s",
            [f"%) {old}_cosine_ops)%"],
        )
        for (name,) in cur.fetchall():
            cur.execute(f'DROP INDEX IF EXISTS "{name}"')
        cur.execute(
            "SELECT DISTINCT embedding_model, embedding_dimensions FROM knowledge_paragraph "
            "WHERE embedding_model <> '' AND embedding_dimensions IS NOT NULL"
        )
        for model, dims in cur.fetchall():
            literal = model.replace("'", "''")
            cur.execute(
                f"CREATE INDEX IF NOT EXISTS {_name(model, int(dims), new)} ON knowledge_paragraph "
                f"USING hnsw ((embedding::{new}({int(dims)})) {new}_cosine_ops) "
                f"WHERE embedding_model = '{literal}'"
            )


def forwards(apps, schema_editor) -> None:
    _rebuild(schema_editor, "vector", "halfvec")


def backwards(apps, schema_editor) -> None:
    _rebuild(schema_editor, "halfvec", "vector")


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0011_language_defaults_and_detection")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
