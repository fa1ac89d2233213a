"""Search queries on ONNX Runtime: a real export of the bundled MiniLM model, checked against torch."""

import logging
import sys

import numpy as np
import pytest

from knowledge import embeddings, query_encoder

MINILM = embeddings.MINILM

QUERIES = [
    "which planet has a red storm?",
    "数据库索引怎么重建",
    "bread",
    " ".join(["a query far longer than the model's window of two hundred and fifty six tokens"] * 40),
]


@pytest.fixture
def fresh(empty_models_dir):
    """An empty MODELS_DIR and no loaded sessions, before and after."""
    query_encoder.forget()
    yield empty_models_dir
    query_encoder.forget()


def test_queries_are_exported_once_and_match_torch(fresh):
    model = embeddings.get_model(MINILM)
    fresh.mkdir(parents=True)
    older = fresh / f"{query_encoder._stem(MINILM)}-made-by-older-versions.onnx"
    other = fresh / f"{query_encoder._stem('another-model')}-0123.onnx"
    older.write_bytes(b"stale")
    other.write_bytes(b"kept")

    vectors = [embeddings.embed_one(q, MINILM) for q in QUERIES]

    assert not older.exists() and other.exists()  # this model's stale export is replaced
    exports = [path for path in fresh.glob("*.onnx") if path != other]
    assert len(exports) == 1 and not list(fresh.glob("*.tmp"))
    assert exports[0].name.startswith("bundled_all_MiniLM_L6_v2_")
    assert isinstance(query_encoder.encoder(MINILM, model, embeddings.resolve(MINILM)), query_encoder.QueryEncoder)
    for query, vector in zip(QUERIES, vectors, strict=True):
        reference = query_encoder.torch_one(model, query)
        assert vector.shape == (384,) and vector.dtype == np.float32
        assert float(np.abs(vector - reference).max()) < 1e-5
        assert abs(float(vector @ vector) - 1.0) < 1e-5
    # The same query through batch embedding (how paragraphs are stored) is the same vector.
    assert float(np.abs(vectors[0] - embeddings.embed([QUERIES[0]], MINILM)[0]).max()) < 1e-5

    # A new process (here: the sessions dropped) loads the export instead of exporting again.
    written = exports[0].stat().st_mtime_ns
    query_encoder.forget()
    again = embeddings.embed_one(QUERIES[0], MINILM)
    assert exports[0].stat().st_mtime_ns == written and sorted(fresh.glob("*.onnx")) == sorted([*exports, other])
    assert float(np.abs(again - vectors[0]).max()) == 0.0


def test_torch_setting_keeps_queries_on_torch(fresh, settings):
    settings.EMBEDDING_QUERY_RUNTIME = "torch"

    vector = embeddings.embed_one(QUERIES[0], MINILM)

    assert query_encoder.encoder(MINILM, embeddings.get_model(MINILM), embeddings.resolve(MINILM)) is None
    assert not fresh.exists()
    assert float(np.abs(vector - query_encoder.torch_one(embeddings.get_model(MINILM), QUERIES[0])).max()) == 0.0


def test_a_failed_export_leaves_queries_on_torch_with_one_warning(fresh, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if the onnx package were not installed

    with caplog.at_level(logging.WARNING, logger="knowledge.query_encoder"):
        first = embeddings.embed_one(QUERIES[1], MINILM)
        embeddings.embed_one(QUERIES[0], MINILM)

    warnings = [r.getMessage() for r in caplog.records if r.name == "knowledge.query_encoder"]
    assert len(warnings) == 1 and "stay on torch" in warnings[0] and "onnx" in warnings[0].lower()
    assert not list(fresh.glob("*.onnx")) and not list(fresh.glob("*.tmp"))
    assert float(np.abs(first - query_encoder.torch_one(embeddings.get_model(MINILM), QUERIES[1])).max()) == 0.0


def test_the_multilingual_default_needs_no_export(fresh):
    vector = embeddings.embed_one(QUERIES[1])

    assert embeddings.prepare_queries(embeddings.MULTILINGUAL) == "not needed: its queries run on numpy"
    assert not fresh.exists()
    assert vector.shape == (512,) and abs(float(vector @ vector) - 1.0) < 1e-5
    assert float(np.abs(vector - embeddings.embed([QUERIES[1]])[0]).max()) < 1e-5
