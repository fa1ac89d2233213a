"""Search queries of sentence-transformers models embedded with ONNX Runtime instead of torch
(the default multilingual model needs none of this: it runs on numpy, knowledge/embeddings.py).

A search embeds one short text, and torch's per-operator overhead dominates at that size: on 2
cores a 3-6 word query took 12.3 ms p50 with torch and 3.1 ms with ONNX Runtime in
``bench/search.py``, giving the same vector to about 3e-7. The knowledge base's own
sentence-transformers model is exported once (``torch.onnx``, from the loaded model: nothing is
downloaded) to ``MODELS_DIR/onnx/<model>-<digest>.onnx``, replacing that model's exports by
other versions, and every export is checked against torch on probe texts before it is used.

``EMBEDDING_QUERY_RUNTIME=torch`` turns this off. Anything that stops it (a model that does not
export, the ``onnx`` package missing, outputs that differ from torch) leaves that model's
queries on torch, with one warning in the log. Paragraphs are still embedded in batches with
torch (``embeddings.embed``), where its overhead is small.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from stt_models.bundled import made_once, package_versions

log = logging.getLogger(__name__)

TOLERANCE = 1e-4  # largest difference from torch, per vector component, an export may show
PROBES = (
    "a",
    "How do I rebuild the index after a schema change?",
    "今天我们讨论数据库的索引和查询计划",
    " ".join(["a long paragraph that runs past the model's maximum sequence length"] * 60),
)
_VERSIONED = ("torch", "transformers", "sentence-transformers", "onnx", "onnxruntime")

_encoders: dict[str, QueryEncoder | None] = {}
_lock = threading.Lock()


class QueryEncoder:
    """One ONNX Runtime session for one sentence-transformers model; safe to share between threads."""

    def __init__(self, model: Any, path: Path) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = settings.EMBEDDING_QUERY_THREADS
        options.inter_op_num_threads = 1
        # Idle pool threads sleep instead of spinning: a spinning thread takes the CPU that the
        # database needs for the query's two rankings.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.model = model  # its tokenizer (``preprocess``) is used as it is for torch
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]

    def __call__(self, text: str) -> np.ndarray:
        features = self.model.preprocess([text])
        feeds = {name: features[name].numpy().astype(np.int64, copy=False) for name in self.inputs}
        return self.session.run(None, feeds)[0][0]


def encoder(ref: str, model: Any, source: str) -> QueryEncoder | None:
    """The ONNX encoder of ``model`` (registered as ``ref``, loaded from ``source``: its folder or
    hub name), exporting it on first use; ``None`` where queries stay on torch."""
    if ref in _encoders:
        return _encoders[ref]
    with _lock:
        if ref not in _encoders:
            _encoders[ref] = _load(ref, model, source)
        return _encoders[ref]


def forget() -> None:
    """Drop the loaded sessions (with ``embeddings.unload_all``)."""
    with _lock:
        _encoders.clear()


def _enabled(device: Any) -> bool:
    """Whether queries of a model on ``device`` go to ONNX Runtime (CPU models, unless turned off)."""
    return settings.EMBEDDING_QUERY_RUNTIME == "onnx" and str(device) == "cpu"


def prepare(ref: str, source: str, load_model: Callable[[], Any]) -> str:
    """Make the export of the sentence-transformers model ``ref`` (from ``source``) ahead of the
    first search (``embeddings.prepare_queries``); calls ``load_model`` only when the export is
    missing. Returns what it found or did, in a few words."""
    if not _enabled(settings.EMBEDDING_DEVICE):
        return "off: queries run on torch"
    if _path(ref, source).exists():
        return "export ready"
    try:
        model = load_model()
    except Exception as exc:  # noqa: BLE001 - reported here, not fatal: indexing reports it per document
        return f"not exported, the model does not load ({type(exc).__name__}: {exc})"
    return "exported" if _load(ref, model, source) else "export failed: queries run on torch"


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


def export_path(ref: str, source: str) -> Path:
    """Where the export of the model ``ref`` (from ``source``) by the installed versions lies."""
    return _path(ref, source)


def checked_export(ref: str, model: Any, source: str) -> tuple[Path, QueryEncoder]:
    """The export of the CPU ``model``, made when missing, and its encoder, checked against
    torch on the probe texts (``ValueError`` where they differ)."""
    path = _exported(ref, model, source)
    encoder = QueryEncoder(model, path)
    difference = max(float(np.abs(encoder(text) - torch_one(model, text)).max()) for text in PROBES)
    if difference > TOLERANCE:
        raise ValueError(f"its vectors differ from torch's by up to {difference:.2g}")
    return path, encoder


def _load(ref: str, model: Any, source: str) -> QueryEncoder | None:
    if not _enabled(model.device):
        return None
    try:
        path, encoder = checked_export(ref, model, source)
    except Exception as exc:  # noqa: BLE001 - an optional speed-up: any failure leaves queries on torch
        log.warning("search queries of %s stay on torch (no ONNX Runtime export: %s)", ref, exc)
        return None
    log.info("search queries of %s run on ONNX Runtime (%s)", ref, path.name)
    return encoder


def _digest(ref: str, folder: str) -> str:
    """Names an export by the model and the versions that produced it."""
    parts = [ref, folder]
    if Path(folder).is_dir():
        for file in sorted(Path(folder).rglob("*")):
            if file.is_file():
                stat = file.stat()
                parts.append(f"{file.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}")
    parts += package_versions(_VERSIONED)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]


def _exported(ref: str, model: Any, source: str) -> Path:
    """The model's ONNX file, exported once per model and versions (under a file lock, atomically)."""
    return made_once(_path(ref, source), f"{_stem(ref)}-*.onnx", lambda tmp: _export(model, tmp))


def _path(ref: str, source: str) -> Path:
    return Path(settings.MODELS_DIR) / "onnx" / f"{_stem(ref)}-{_digest(ref, source)}.onnx"


def _stem(ref: str) -> str:
    """A file-name-safe name for a model reference (a short hash keeps distinct refs apart)."""
    readable = re.sub(r"[^A-Za-z0-9.]+", "_", ref).strip("_")[-40:]
    return f"{readable}_{hashlib.sha256(ref.encode()).hexdigest()[:8]}"


def _export(model: Any, target: Path) -> None:
    import torch

    sample = model.preprocess([PROBES[1]])
    names = [name for name, value in sample.items() if isinstance(value, torch.Tensor)]

    class Query(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            vectors = self.model.forward(dict(zip(names, tensors, strict=True)))["sentence_embedding"]
            return torch.nn.functional.normalize(vectors.float(), dim=-1)

    # The tracer warns about Python branches on shapes; the probe check after export is the test.
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Query().eval(),
            tuple(sample[name] for name in names),
            str(target),
            input_names=names,
            output_names=["embedding"],
            dynamic_axes={name: {0: "batch", 1: "tokens"} for name in names},
            opset_version=17,
            dynamo=False,  # the TorchScript exporter: needs onnx, not onnxscript
        )
