"""Transcription step: the document's speech model over its audio, reporting each segment."""

from __future__ import annotations

from typing import Any

import numpy as np

from stt_models.models import SpeechModel
from stt_models.providers.base import SegmentCallback, Transcript
from stt_models.registry import get_provider


def transcribe(
    model: SpeechModel, audio: np.ndarray, options: dict[str, Any], on_segment: SegmentCallback | None = None
) -> Transcript:
    return get_provider(model).transcribe(audio, options, on_segment)
