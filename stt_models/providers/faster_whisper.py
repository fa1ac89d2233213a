"""Local transcription with faster-whisper (CTranslate2).

A worker process keeps one loaded ``WhisperModel`` per (model, device, compute type, threads)
and reuses it: creating one per request is slow and leaks memory.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
from django.conf import settings

from stt_models.bundled import resolve_model
from stt_models.providers import cuda_libs
from stt_models.providers.base import SENTENCE_END, Segment, SegmentCallback, SttRefused, Transcript, Word
from stt_models.providers.device_slots import device_slot

log = logging.getLogger(__name__)

# Keys of SpeechModel.options that configure the model rather than one transcription.
LOAD_OPTIONS = ("cpu_threads", "num_workers", "device_index", "batch_size")
# Keys passed through to WhisperModel.transcribe.
TRANSCRIBE_OPTIONS = (
    "language",
    "task",
    "beam_size",
    "temperature",
    "initial_prompt",
    "word_timestamps",
    "vad_filter",
    "condition_on_previous_text",
    "no_speech_threshold",
    "compression_ratio_threshold",
    "hallucination_silence_threshold",
)
# The per-upload options this provider takes: faster-whisper's own, and the allowlist it detects within.
SUPPORTED_OPTIONS = (*TRANSCRIBE_OPTIONS, "language_allowlist")
# condition_on_previous_text off: with it on, one bad window can derail the windows after it
# (the tiny model then emits 30 s segments and skips speech). On the 10-minute test recording it
# took WER from 0.087 to 0.112 (segmented) and from 0.090 to 0.122 (one piece).
DEFAULTS: dict[str, Any] = {"beam_size": 5, "vad_filter": True, "condition_on_previous_text": False}

_models: dict[tuple, Any] = {}
_lock = threading.Lock()


def load_model(model: str, device: str, compute_type: str, cpu_threads: int, num_workers: int = 1,
               device_index: int | list[int] = 0) -> Any:  # fmt: skip
    """Return the process-wide ``WhisperModel`` for this configuration, loading it once."""
    key = (model, device, compute_type, cpu_threads, num_workers, str(device_index))
    with _lock:
        cached = _models.get(key)
        if cached is not None:
            return cached
        from faster_whisper import WhisperModel

        if device != "cpu":
            cuda_libs.preload()
        started = time.monotonic()
        try:
            loaded = WhisperModel(
                resolve_model(model),
                device=device,
                device_index=device_index,
                compute_type=compute_type,
                cpu_threads=cpu_threads,
                num_workers=num_workers,
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise SttRefused(f"cannot load speech model {model!r} on {device}: {str(exc).splitlines()[0]}") from exc
        log.info("loaded whisper model %s on %s/%s in %.2fs", model, device, compute_type,
                 time.monotonic() - started)  # fmt: skip
        _models[key] = loaded
        return loaded


def loaded_models() -> list[tuple]:
    with _lock:
        return list(_models)


def unload_all() -> int:
    """Drop every cached model (frees RAM / GPU memory once no caller holds a reference)."""
    with _lock:
        count = len(_models)
        _models.clear()
    return count


class FasterWhisperProvider:
    @staticmethod
    def _likeliest(whisper: Any, audio: np.ndarray, allowed: list[str]) -> str:
        """Detect the language, restricted to ``allowed``."""
        _, _, probabilities = whisper.detect_language(audio)
        ranked = dict(probabilities)
        return max(allowed, key=lambda code: ranked.get(code, 0.0))

    def __init__(self, *, model: str, device: str = "cpu", compute_type: str = "int8",
                 options: dict[str, Any] | None = None, default_cpu_threads: int = 2,
                 default_num_workers: int = 1, default_batch_size: int = 1) -> None:  # fmt: skip
        self.model = model
        self.device = device
        self.compute_type = compute_type
        opts = dict(options or {})
        self.load_options = {
            "cpu_threads": int(opts.get("cpu_threads", default_cpu_threads)),
            "num_workers": int(opts.get("num_workers", default_num_workers)),
            "device_index": opts.get("device_index", 0),
        }
        # batch_size > 1: faster-whisper's BatchedInferencePipeline transcribes that many VAD
        # chunks of a segment at once (the way to use a GPU fully; on 2 CPU cores about 2x faster
        # than one chunk after another on long audio). Named in the model's options it is used
        # for all audio; the default (STT_BATCH_SIZE) only from STT_BATCH_MIN_SECONDS on.
        self.batch_size = int(opts.get("batch_size", default_batch_size))
        self.batch_always = "batch_size" in opts
        self.defaults = {**DEFAULTS, **{k: v for k, v in opts.items() if k in TRANSCRIBE_OPTIONS}}

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        """(language, probability) on the first 30 s of speech in ``audio`` (voice activity
        detection skips the silence and music before it); ("", 0.0) when it holds no speech."""
        from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

        whisper = self.loaded()
        if not whisper.model.is_multilingual:
            raise SttRefused(f"speech model {self.model!r} is English-only and cannot detect languages")
        spans = get_speech_timestamps(audio, VadOptions())
        if not spans:  # (faster-whisper itself would pad nothing to 30 s and call that English)
            return "", 0.0
        pieces, _ = collect_chunks(audio, spans)
        language, probability, _ = whisper.detect_language(np.concatenate(pieces))
        return language, float(probability)

    def loaded(self) -> Any:
        return load_model(self.model, self.device, self.compute_type, **self.load_options)

    def slot(self) -> AbstractContextManager[str]:
        """One of the GPU's transcription slots (GPU_TRANSCRIPTIONS_PER_DEVICE); none on the CPU."""
        device = self.device
        if device == "auto":
            import ctranslate2

            device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        return device_slot(device, self.load_options["device_index"], settings.GPU_TRANSCRIPTIONS_PER_DEVICE,
                           settings.VAR_DIR / "locks")  # fmt: skip

    def transcribe(
        self, audio: np.ndarray, options: dict[str, Any], on_segment: SegmentCallback | None = None
    ) -> Transcript:
        whisper = self.loaded()
        kwargs = {**self.defaults, **{k: v for k, v in options.items() if k in TRANSCRIBE_OPTIONS}}
        if kwargs.get("language") in ("", "auto"):
            kwargs["language"] = None
        if not whisper.model.is_multilingual:
            kwargs["language"] = "en"
        elif kwargs.get("language") is None and options.get("language_allowlist"):
            kwargs["language"] = self._likeliest(whisper, audio, options["language_allowlist"])
        segments: list[Segment] = []
        with self.slot():
            if self._batches(audio) and kwargs.get("vad_filter", True):  # batching cuts at VAD chunks
                segments_iter, info = self._batched(whisper, audio, kwargs)
            else:
                segments_iter, info = whisper.transcribe(audio, **kwargs)
                segments_iter = _as_segments(segments_iter)
            for segment in segments_iter:  # the work happens while iterating
                segments.append(segment)
                if on_segment is not None:
                    on_segment(segment)
        return Transcript(language=info.language, duration=float(info.duration), segments=segments)

    def _batches(self, audio: np.ndarray) -> bool:
        if self.batch_size <= 1:
            return False
        return self.batch_always or len(audio) >= settings.STT_BATCH_MIN_SECONDS * 16000

    def _batched(self, whisper: Any, audio: np.ndarray, kwargs: dict[str, Any]) -> tuple[Iterator[Segment], Any]:
        """BatchedInferencePipeline decodes each VAD chunk (up to 30 s) in one pass. With
        timestamp tokens it drops whole sentences (WER 0.24 against 0.07 sequential on a 3-minute
        fixture recording), so chunks are decoded without them, which keeps the text complete, and cut into
        sentences by the word times of faster-whisper's alignment."""
        from faster_whisper import BatchedInferencePipeline

        batched = BatchedInferencePipeline(model=whisper)
        segments_iter, info = batched.transcribe(
            audio, batch_size=self.batch_size, **{**kwargs, "without_timestamps": True, "word_timestamps": True}
        )
        return _as_sentences(segments_iter, keep_words=bool(kwargs.get("word_timestamps"))), info


def _words(seg: Any) -> list[Word] | None:
    return None if seg.words is None else [Word(float(w.start), float(w.end), w.word, w.probability) for w in seg.words]


def _number(seg: Any, name: str) -> float | None:
    value = getattr(seg, name, None)
    return None if value is None else round(float(value), 4)


def _as_segments(segments_iter: Iterable[Any]) -> Iterator[Segment]:
    for seg in segments_iter:
        text = seg.text.strip()
        if text:
            yield Segment(
                start=float(seg.start),
                end=float(seg.end),
                text=text,
                words=_words(seg),
                no_speech_prob=_number(seg, "no_speech_prob"),
                avg_logprob=_number(seg, "avg_logprob"),
            )


def _as_sentences(segments_iter: Iterable[Any], keep_words: bool) -> Iterator[Segment]:
    for seg in segments_iter:
        words = _words(seg)
        if not words:
            yield from _as_segments([seg])
            continue
        for sentence in split_sentences(words):
            text = "".join(w.word for w in sentence).strip()
            if text:
                yield Segment(
                    sentence[0].start,
                    sentence[-1].end,
                    text,
                    sentence if keep_words else None,
                    _number(seg, "no_speech_prob"),
                    _number(seg, "avg_logprob"),
                )


MAX_SENTENCE_SECONDS = 20.0


def split_sentences(words: list[Word]) -> list[list[Word]]:
    """Group words into sentences: a cut after sentence-ending punctuation, or before a word that
    would make the piece longer than MAX_SENTENCE_SECONDS."""
    pieces: list[list[Word]] = []
    current: list[Word] = []
    for word in words:
        if current and word.end - current[0].start > MAX_SENTENCE_SECONDS:
            pieces.append(current)
            current = []
        current.append(word)
        if SENTENCE_END.search(word.word.strip()):
            pieces.append(current)
            current = []
    if current:
        pieces.append(current)
    return pieces
