"""Run the pipeline for one document: ``run`` for transcription (and, without ``hand_off``, the
rest), ``run_stage`` for the diarize, polish and index stages. The Celery tasks only call these.

claim -> probe/decode -> transcribe | [diarize] -> split | [polish + summary] | embed -> index ->
SUCCESS, with progress and heartbeats in between; every exception becomes FAILURE with a one-line
reason, a retry (transient database trouble), or REVOKED when the user cancelled. At each ``|``
the Celery task hands the document (and its paragraphs, in the message; the diarize stage reads
the saved transcript) to the next stage's queue, diarize, llm or index, under a new task id;
``run`` without ``hand_off`` does all the stages in one process.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, transaction

from core.errors import RetryableError, UserError
from knowledge import log_context, runs, transitions
from knowledge.models import Document, ProcessingRun, RunOutcome, Stage, Status
from media_learning.pipeline import fanout, stages
from media_learning.pipeline.heartbeat import Heartbeat, TimeLimitExceeded
from media_learning.pipeline.payload import StagePayload
from media_learning.pipeline.progress import INDEX_START, LLM_START, diarize_start
from media_learning.pipeline.transcribe import MediaTranscript

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    """How a stage run ended for this task (the Celery result): the document's terminal status,
    or ``skipped`` when the document was not this task's to run (taken, deleted, lost)."""

    SUCCESS = Status.SUCCESS
    FAILURE = Status.FAILURE
    REVOKED = Status.REVOKED
    SKIPPED = "skipped"


class TransientError(RetryableError):
    """What a stage raises to its task to be retried: the database or another service was
    briefly unavailable (the task's decorator declares the retries)."""


def _next_stage(document: Document, payload: StagePayload, after: str) -> str:
    """The stage after ``after``: transcribe -> [diarize] -> [polish] -> index."""
    if after == "transcribe" and payload.diarize:
        return "diarize"
    if after in ("transcribe", "diarize") and document.llm_model_id is not None and payload.drafts:
        return "polish"
    return "index"


STAGES = {  # stage -> (the document's stage while it waits, its progress then)
    "diarize": (Stage.DIARIZING, lambda document: diarize_start(document.llm_model_id is not None)),
    "polish": (Stage.POLISHING, lambda document: LLM_START),
    "index": (Stage.INDEXING, lambda document: INDEX_START),
}


@dataclass(frozen=True)
class HandOff:
    """A document passed to its next stage: the Celery task sends ``payload`` (the message of a
    ``StagePayload``) to that stage's queue under ``task_id`` (media_learning/dispatch.py)."""

    stage: str
    task_id: str
    payload: dict

    def __str__(self) -> str:
        return f"handed off to {self.stage}"


def _hand_off(document: Document, task_id: str, run: ProcessingRun, stage: str, payload: StagePayload) -> HandOff:
    """Pass the document to its next stage (diarize, llm or index) under a new task id; committed
    when this returns, so the task may send it at once."""
    new_stage, progress = STAGES[stage]
    next_id = str(uuid.uuid4())
    runs.save_timings(run)
    with transaction.atomic():
        if not transitions.handoff(document.pk, task_id, next_id, new_stage, progress(document)):
            raise transitions.not_owned(document.pk)
    log.info("handed to the %s stage as task %s", stage, next_id)
    return HandOff(stage, next_id, payload.to_message())


def _whole(document: Document, task_id: str, run: ProcessingRun, heartbeat: Heartbeat,
           hand_off: bool) -> Outcome | HandOff:  # fmt: skip
    """The transcribe stage, then either a hand-off or the remaining stages in this process."""
    transcript, payload = stages.transcribe_stage(document, task_id, run, heartbeat)
    if not payload.diarize:
        payload = stages.paragraphs(document, task_id, transcript, payload)
    stage = _next_stage(document, payload, "transcribe")
    if hand_off:
        return _hand_off(document, task_id, run, stage, payload)
    return _onward(stage, document, task_id, run, payload, hand_off, transcript)


def _onward(stage: str, document: Document, task_id: str, run: ProcessingRun, payload: StagePayload, hand_off: bool,
            transcript: MediaTranscript | None = None) -> Outcome | HandOff:  # fmt: skip
    """Run ``stage``, then hand the next one to its queue (``hand_off``) or run it here too."""
    while stage != "index":
        if stage == "diarize":
            payload = stages.diarize_stage(document, task_id, run, payload, transcript)
        elif document.llm_model is not None:  # polish (unless its model was deleted meanwhile)
            payload = stages.polish_stage(document, task_id, run, payload)
        stage = _next_stage(document, payload, stage)
        if hand_off:
            return _hand_off(document, task_id, run, stage, payload)
    stages.index_stage(document, task_id, run, payload)
    return Outcome.SUCCESS


def _claim(document_id: int, task_id: str, take: Callable[[int, str], bool] = transitions.claim) -> bool:
    if take(document_id, task_id):
        return True
    if transitions.held_by_live_run(document_id, task_id):
        # Another copy of this task holds a fresh lease: a redelivery right after its worker died
        # (the heartbeat stops, so wait the lease out once), or a duplicate of a live run (it keeps
        # beating, so the second claim fails and this copy stands down).
        time.sleep(settings.HEARTBEAT_LEASE + 1)
        return take(document_id, task_id)
    return False


def _quietly(action: Callable[..., object], *args: object) -> None:
    """Bookkeeping that must not hide the original error (the database may be what failed)."""
    try:
        action(*args)
    except DatabaseError as exc:
        log.warning("could not record the outcome: %s", exc)


def _worker_name(worker: str) -> str:
    return f"{worker or socket.gethostname()} pid {os.getpid()}"


def _document(document_id: int) -> Document | None:
    related = ("stt_model", "llm_model", "knowledge_base")
    return Document.objects.select_related(*related).filter(pk=document_id).first()


def run(document_id: int, task_id: str, worker: str = "", hand_off: bool = False) -> Outcome | HandOff:
    """Process one document; returns the status it ended in, 'skipped', or (with ``hand_off``,
    the Celery task) the HandOff that the task sends to the next stage's queue; without
    ``hand_off`` this process runs every stage."""
    with log_context.bind(document=document_id):
        if not _claim(document_id, task_id):
            log.info("not claimable by task %s; skipping", task_id)
            return Outcome.SKIPPED
        document = _document(document_id)
        if document is None:  # deleted meanwhile
            return Outcome.SKIPPED
        run_ = runs.start(document, task_id, _worker_name(worker))
        with log_context.bind(attempt=run_.attempt), Heartbeat(document_id, task_id) as heartbeat:
            return _guarded(document, task_id, run_, lambda: _whole(document, task_id, run_, heartbeat, hand_off))


def run_stage(stage: str, document_id: int, task_id: str, payload: dict, worker: str = "",
              hand_off: bool = True) -> Outcome | HandOff:  # fmt: skip
    """A later stage (``diarize``, ``polish`` or ``index``) of a document handed over by the one before."""
    with log_context.bind(document=document_id):
        if not _claim(document_id, task_id, transitions.adopt):
            if transitions.acknowledge_cancel(document_id, task_id):  # cancelled while it waited in the queue
                runs.close(int(payload["run_id"]), RunOutcome.REVOKED, "cancelled")
                return Outcome.REVOKED
            log.info("not ours (task %s); skipping", task_id)
            return Outcome.SKIPPED
        document = _document(document_id)
        if document is None:  # deleted meanwhile
            return Outcome.SKIPPED
        run_ = runs.resume(int(payload["run_id"]), document, task_id, f"{stage}: {_worker_name(worker)}")
        with log_context.bind(attempt=run_.attempt), Heartbeat(document_id, task_id) as heartbeat:
            heartbeat.set_duration(document.duration)
            return _guarded(document, task_id, run_,
                            lambda: _onward(stage, document, task_id, run_, StagePayload.from_message(payload),
                                            hand_off))  # fmt: skip


def _guarded(document: Document, task_id: str, run: ProcessingRun,
             work: Callable[[], Outcome | HandOff]) -> Outcome | HandOff:  # fmt: skip
    """Run one stage; every exception becomes FAILURE with a reason, REVOKED, or a retry."""
    document_id = document.pk
    try:
        outcome = work()
    except TimeLimitExceeded as exc:  # the heartbeat thread has failed the document with the reason
        _quietly(fanout.cleanup, document_id)
        runs.finish(run, RunOutcome.FAILURE, Document.objects.get(pk=document_id).error or exc)
        return Outcome.FAILURE
    except transitions.Cancelled:
        _quietly(fanout.cleanup, document_id)
        transitions.acknowledge_cancel(document_id)
        runs.finish(run, RunOutcome.REVOKED, "cancelled")
        log.info("cancelled")
        return Outcome.REVOKED
    except transitions.ClaimLost as exc:
        log.warning("%s; stopping", exc)
        _quietly(fanout.forget_if_deleted, document_id)
        runs.finish(run, RunOutcome.LOST, exc)
        return Outcome.SKIPPED
    except (OperationalError, InterfaceError, RetryableError) as exc:
        _quietly(runs.finish, run, RunOutcome.RETRY, exc)
        _quietly(transitions.release, document_id, task_id)
        raise TransientError(transitions.one_line(str(exc))) from exc
    except UserError as exc:  # bad media, a refused URL or model, a duplicate: one line for the user
        _quietly(fanout.cleanup, document_id)
        transitions.fail(document_id, str(exc), task_id)
        runs.finish(run, RunOutcome.FAILURE, exc)
        log.info("failed: %s", exc)
        return Outcome.FAILURE
    except Exception as exc:  # every failure must end as FAILURE with a reason, never stuck STARTED
        log.exception("failed unexpectedly")
        _quietly(fanout.cleanup, document_id)
        transitions.fail(document_id, f"internal error: {type(exc).__name__}: {exc}", task_id)
        runs.finish(run, RunOutcome.FAILURE, exc, with_traceback=True)
        return Outcome.FAILURE
    if outcome == Outcome.SUCCESS:
        log.info("done in %.2fs: %s", sum(run.timings.values()), run.timings)
    return outcome
