"""How a document's progress is shared out among its stages, and the reporter that turns media
seconds into throttled progress writes (each a heartbeat and a cancellation check)."""

from __future__ import annotations

import time

from knowledge import transitions

INDEX_START = 0.9  # of overall progress: transcribing (and polishing) come before, indexing after
LLM_START = 0.7  # where polishing starts when the document has an LLM
DIARIZE_SHARE = 0.1  # taken from transcription's share when the speakers are found
REPORT_EVERY = 1.0  # seconds between progress writes


def diarize_start(has_llm: bool) -> float:
    """Where diarizing starts in the overall progress: the end of transcription's share."""
    return (LLM_START if has_llm else INDEX_START) - DIARIZE_SHARE


class ProgressReporter:
    """Turns media seconds transcribed into throttled progress writes, which also heartbeat
    and notice a cancel request (``transitions.report`` raises Cancelled)."""

    def __init__(self, document_id: int, task_id: str, duration: float | None, share: float = INDEX_START,
                 start: float = 0.0) -> None:  # fmt: skip
        self.document_id, self.task_id = document_id, task_id
        self.duration = duration if duration and duration > 0 else None
        self.share, self.start = share, start
        self.last = time.monotonic()

    def __call__(self, seconds_done: float) -> None:
        now = time.monotonic()
        if now - self.last < REPORT_EVERY:
            return
        self.last = now
        progress = None
        if self.duration is not None:
            progress = self.start + self.share * min(1.0, seconds_done / self.duration)
        transitions.report(self.document_id, self.task_id, progress=progress)
