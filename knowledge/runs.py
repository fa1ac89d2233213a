"""The record of every processing attempt (ProcessingRun rows), written by the worker and by
the reaper, shown in the admin and the API."""

from __future__ import annotations

import traceback as tb
from collections.abc import Iterator
from contextlib import contextmanager
from time import monotonic
from typing import Any

from django.db.models import Max
from django.utils import timezone

from knowledge.models import Document, ProcessingRun, RunOutcome
from knowledge.transitions import one_line

TRACEBACK_CHARS = 4000


def start(document: Document, task_id: str, worker: str) -> ProcessingRun:
    """Record a new attempt for a document this task has just claimed. Runs left 'running' by a
    worker that died are closed as LOST first."""
    close_lost(document.pk, "the worker stopped without finishing (killed, out of memory or restarted)")
    last = ProcessingRun.objects.filter(document=document).aggregate(n=Max("attempt"))["n"] or 0
    return ProcessingRun.objects.create(
        document=document,
        attempt=last + 1,
        task_id=task_id,
        worker=worker[:200],
        stt_model=document.stt_model.name if document.stt_model else "",
        llm_model=document.llm_model.name if document.llm_model else "",
    )


def note_model(run: ProcessingRun, model: Any) -> None:
    """The speech model that transcribed, when ``auto`` (or the English-only guard) chose it."""
    name = str(getattr(model, "name", ""))
    if name and name != run.stt_model:
        run.stt_model = f"{run.stt_model} -> {name}" if run.stt_model else name
        ProcessingRun.objects.filter(pk=run.pk).update(stt_model=run.stt_model[:100])


def resume(run_id: int, document: Document, task_id: str, worker: str) -> ProcessingRun:
    """The attempt a later stage continues (its worker added), or a new one when that attempt
    was closed meanwhile (a retry of the stage)."""
    run = ProcessingRun.objects.filter(pk=run_id, document=document, outcome=RunOutcome.RUNNING).first()
    if run is None:
        return start(document, task_id, worker)
    run.worker = f"{run.worker}; {worker}"[:200]
    ProcessingRun.objects.filter(pk=run.pk).update(worker=run.worker)
    return run


def save_timings(run: ProcessingRun) -> None:
    """Keep the timings so far (before the run moves to another stage's worker)."""
    ProcessingRun.objects.filter(pk=run.pk).update(timings=run.timings)


def close(run_id: int, outcome: str, reason: str) -> int:
    return ProcessingRun.objects.filter(pk=run_id, outcome=RunOutcome.RUNNING).update(
        outcome=outcome, finished_at=timezone.now(), error=one_line(reason)
    )


def finish(run: ProcessingRun, outcome: str, error: BaseException | str | None = None,
           with_traceback: bool = False) -> None:  # fmt: skip
    run.outcome = outcome
    run.finished_at = timezone.now()
    run.seconds = round((run.finished_at - run.started_at).total_seconds(), 3)
    if isinstance(error, BaseException):
        run.error_type = type(error).__name__
        run.error = one_line(str(error))
        if with_traceback:
            run.traceback = "".join(tb.format_exception(error))[-TRACEBACK_CHARS:]
    elif error:
        run.error = one_line(error)
    fields = ["outcome", "finished_at", "seconds", "error_type", "error", "traceback", "timings"]
    # an UPDATE, not save(): a document deleted meanwhile takes its runs with it, quietly
    ProcessingRun.objects.filter(pk=run.pk).update(**{f: getattr(run, f) for f in fields})


def close_lost(document_id: int, reason: str) -> int:
    """Close the document's runs still marked running as LOST."""
    return ProcessingRun.objects.filter(document_id=document_id, outcome=RunOutcome.RUNNING).update(
        outcome=RunOutcome.LOST, finished_at=timezone.now(), error_type="WorkerLost", error=one_line(reason)
    )


@contextmanager
def timed(run: ProcessingRun, step: str) -> Iterator[None]:
    """Add the seconds spent in ``step`` to the run's timings (saved when the run finishes)."""
    started = monotonic()
    try:
        yield
    finally:
        run.timings[step] = round(run.timings.get(step, 0.0) + monotonic() - started, 3)
