"""The speaker network on ONNX Runtime: exported once, the same voices as torch, and a worker that
finds the export never imports torch."""

from __future__ import annotations

import logging
import subprocess
import sys

import numpy as np
import pytest

from stt_models.diarization import onnx_runtime, voices
from tests.fixtures import speaker_mixes as mixes


@pytest.fixture
def fresh(empty_models_dir):
    voices.unload()
    yield empty_models_dir
    voices.unload()


def windows(count: int = 5) -> list[np.ndarray]:
    samples, _ = mixes.build(["en_slt", "zh_a"], turns=2, seed=4)
    step = 24000
    return [samples[i * step : (i + 1) * step] for i in range(count)] + [samples[:9000]]


def test_export_gives_torchs_voices_and_is_made_once(fresh, settings):
    assert voices.prepare() == "exported"
    [export] = list(fresh.glob("campplus-*.onnx"))
    made = export.stat().st_mtime_ns
    assert voices.prepare() == "export ready"
    on_onnx = voices.embed(windows())
    assert export.stat().st_mtime_ns == made  # the first diarization used the export
    voices.unload()
    settings.DIARIZE_RUNTIME = "torch"
    assert voices.prepare().startswith("off")
    on_torch = voices.embed(windows())
    assert on_onnx.shape == on_torch.shape == (6, voices.EMBEDDING_DIMENSIONS)
    assert np.abs(on_onnx - on_torch).max() < 1e-4
    assert np.allclose(np.linalg.norm(on_onnx, axis=1), 1.0, atol=1e-5)


def test_an_export_of_other_versions_is_replaced(fresh):
    fresh.mkdir(parents=True)
    stale = fresh / "campplus-0123456789abcdef0123.onnx"
    stale.write_bytes(b"an export by an older torch")
    assert voices.prepare() == "exported"
    assert not stale.exists() and len(list(fresh.glob("campplus-*.onnx"))) == 1


def test_a_broken_export_leaves_the_network_on_torch_with_a_warning(fresh, caplog, monkeypatch):
    def broken(model, target):
        target.write_bytes(b"not a model")

    monkeypatch.setattr(onnx_runtime, "_export", broken)
    with caplog.at_level(logging.WARNING):
        emb = voices.embed(windows(2))
    assert emb.shape == (3, voices.EMBEDDING_DIMENSIONS)
    assert "stays on torch" in caplog.text
    assert list(fresh.glob("campplus-*.onnx")) == []  # nothing half-made is left to be used


WORKER = """
import sys, numpy as np, django
django.setup()
from django.conf import settings
settings.MODELS_DIR = sys.argv[1]
from stt_models.diarization import voices
emb = voices.embed([np.zeros(24000, dtype=np.float32) + 0.01 * np.sin(np.arange(24000))])
print(emb.shape[1], "torch" in sys.modules)
"""


def test_a_worker_that_finds_the_export_does_not_import_torch(fresh):
    assert voices.prepare() == "exported"
    out = subprocess.run([sys.executable, "-c", WORKER, str(fresh.parent)], capture_output=True, text=True,
                         check=True, timeout=120)  # fmt: skip
    assert out.stdout.split()[-2:] == [str(voices.EMBEDDING_DIMENSIONS), "False"]
