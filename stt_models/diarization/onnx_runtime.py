"""CAM++ on ONNX Runtime: the speaker network without torch in the worker.

ONNX Runtime is already in every worker (faster-whisper's VAD runs on it); torch is not, unless
speakers are found with it, and importing torch costs a process about 180 MiB before any weights.
The network is exported once from the released weights (``torch.onnx``, TorchScript exporter) to
``MODELS_DIR/onnx/campplus-<digest>.onnx`` by ``manage.py bootstrap`` (``make run`` runs it), or
by the first diarization that finds no export; each export is checked against torch on probe
windows before it replaces an older one. On 2 cores it also embeds a batch of eight 1.5 s windows
in about half torch's time (0.11 s against 0.21 s, the same vectors to 1e-6).

``DIARIZE_RUNTIME=torch`` keeps the network on torch. An export that fails, or that disagrees with
torch, leaves it on torch too, with one warning in the log.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from pathlib import Path

import numpy as np
from django.conf import settings

from stt_models.bundled import made_once, package_versions

from .fbank import fbank

log = logging.getLogger(__name__)

TOLERANCE = 1e-4  # largest difference from torch, per component of a unit embedding
_VERSIONED = ("torch", "onnx", "onnxruntime")
STEM = "campplus"


class Session:
    """One ONNX Runtime session of the network; ``(batch, frames, 80)`` in, ``(batch, 192)`` out.
    Safe to share between threads."""

    def __init__(self, path: Path) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = settings.DIARIZE_THREADS
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # idle threads sleep
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, features: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"fbank": features.astype(np.float32, copy=False)})[0]


def enabled() -> bool:
    return settings.DIARIZE_RUNTIME == "onnx"


def export_path(weights: Path) -> Path:
    """Where the export of ``weights`` by the installed versions lies (named by their digest)."""
    stat = weights.stat()
    parts = [str(weights), f"{stat.st_size}:{stat.st_mtime_ns}", *package_versions(_VERSIONED)]
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]
    return Path(settings.MODELS_DIR) / "onnx" / f"{STEM}-{digest}.onnx"


def _probes() -> list[np.ndarray]:
    """Feature windows of two lengths (the network is exported with dynamic batch and frames)."""
    rng = np.random.default_rng(0)
    return [np.stack([fbank(rng.normal(0, 0.1, n).astype(np.float32)) for _ in range(count)])
            for count, n in ((3, 24000), (2, 7000))]  # fmt: skip


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)


def _export(model, target: Path) -> None:  # noqa: ANN001 - a torch module (torch is not imported here)
    import torch

    sample = torch.from_numpy(_probes()[0])
    # The tracer warns about Python branches on shapes; the probe check after export is the test.
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (sample,),
            str(target),
            input_names=["fbank"],
            output_names=["embedding"],
            dynamic_axes={"fbank": {0: "batch", 1: "frames"}, "embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,  # the TorchScript exporter: needs onnx, not onnxscript
        )


def _check(session: Session, model) -> None:  # noqa: ANN001
    import torch

    with torch.inference_mode():
        for features in _probes():
            expected = _unit(model(torch.from_numpy(features)).numpy())
            difference = float(np.abs(_unit(session(features)) - expected).max())
            if difference > TOLERANCE:
                raise ValueError(f"its embeddings differ from torch's by up to {difference:.2g}")


def export(weights: Path, load_torch_model) -> Path:  # noqa: ANN001 - a callable returning the torch module
    """The checked export of ``weights``, made (under a file lock, atomically) when missing;
    exports by other versions are removed."""
    path = export_path(weights)
    if path.exists():
        return path

    def make(tmp: Path) -> None:
        model = load_torch_model()
        _export(model, tmp)
        _check(Session(tmp), model)

    made_once(path, f"{STEM}-*.onnx", make)
    log.info("speaker model exported for ONNX Runtime (%s)", path.name)
    return path
