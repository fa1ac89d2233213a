"""Freed memory goes back to the system after each task in a worker.

A transcription or a diarization frees hundreds of MiB of buffers when it ends (audio, VAD and
decoder caches, speaker embeddings), but glibc keeps the freed small blocks in its heaps for
reuse, so the worker's RSS after one stage stays where it peaked and the next stage's peak is
added on top. ``malloc_trim(0)`` returns every free page of every heap; it takes milliseconds and
is a no-op where the C library is not glibc. A 60 min recording with speakers found peaked at
1029 MiB RSS with it and 1045 without (bench/long_media.py, one run each: within the runs'
spread; docs/benchmarks.md). What the worker keeps between stages now is mostly what it will
use again (models, libraries)."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from typing import Any

from celery.signals import task_postrun


@functools.cache
def _trim() -> Any:
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None


def release() -> bool:
    """Give the heaps' free pages back to the system; whether anything was returned."""
    trim = _trim()
    return bool(trim(0)) if trim is not None else False


@task_postrun.connect
def _after_task(**_: Any) -> None:
    release()
