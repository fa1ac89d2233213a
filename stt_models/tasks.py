"""Celery tasks of the model registry: thin wrappers."""

from __future__ import annotations

import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
from celery import shared_task

from stt_models.models import SpeechModel
from stt_models.providers.base import SttError
from stt_models.registry import get_provider

CHECK_CLIP = Path(__file__).resolve().parent / "assets" / "check_2s.wav"


def check_clip() -> np.ndarray:
    """The built-in clip as 16 kHz mono float32."""
    with wave.open(str(CHECK_CLIP)) as clip:
        frames = clip.readframes(clip.getnframes())
    return np.frombuffer(frames, dtype=np.int16).astype(np.float32) / 32768.0


@shared_task(name="stt_models.test_model")
def test_model(*, model_id: int) -> dict[str, Any]:
    """Transcribe the built-in clip with the model, on a worker, and report how long it took."""
    model = SpeechModel.objects.filter(pk=model_id).first()
    if model is None:
        return {"ok": False, "error": "the model no longer exists"}
    audio = check_clip()
    started = time.monotonic()
    try:
        transcript = get_provider(model).transcribe(audio, {})
    except SttError as exc:
        return {"ok": False, "error": str(exc), "seconds": round(time.monotonic() - started, 3)}
    return {
        "ok": True,
        "text": " ".join(s.text for s in transcript.segments),
        "language": transcript.language,
        "seconds": round(time.monotonic() - started, 3),
        "audio_seconds": round(len(audio) / 16000, 3),
    }
