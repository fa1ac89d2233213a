"""Fan-out of long media: its segments are transcribed in parallel by every free worker.

The document's own task (the coordinator) keeps the document, its lease and its heartbeat, as
for any document. While it streams the media through the segmenter it stages each segment (the
16 kHz samples in a file under MEDIA_ROOT/segments/, a ``SegmentJob`` row) and queues a
``transcribe_segment`` task for it; then it works through the jobs itself alongside those tasks.
A job is claimed with one conditional UPDATE, for a lease of a few times its length, so each
segment is transcribed once; a claim whose worker died expires and is taken again. Results are
the usual ``TranscriptChunk``s, merged in order by ``load_transcript``, so resume (saved chunks
are not staged again), progress and cancellation work as before: segment tasks skip documents
that are no longer STARTED under the coordinator's task, and the coordinator, which notices a
cancel at its next progress report, removes what is left.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Sum
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone

from knowledge.models import Document
from media_learning import dispatch
from media_learning.models import SegmentJob, TranscriptChunk
from media_learning.pipeline.decode import SAMPLE_RATE
from media_learning.pipeline.segment import AudioSegment

log = logging.getLogger(__name__)

WAIT_POLL = 0.5  # seconds between looks at the jobs other workers hold
BYTES_PER_SAMPLE = 4  # staged as float32
# transcribe(job, audio) -> the chunk's {language, segments} (transcribe.segment_transcriber)
Transcriber = Callable[[SegmentJob, np.ndarray], dict[str, Any]]


def enabled(duration: float | None, segment_duration: float) -> bool:
    """Fan out media with at least two segments, when TRANSCRIBE_FANOUT is on."""
    return bool(settings.TRANSCRIBE_FANOUT and duration and duration > 1.5 * segment_duration)


def _folder(document_id: int) -> Path:
    return Path(settings.MEDIA_ROOT) / "segments" / str(document_id)


def _lease(job: SegmentJob) -> timedelta:
    return timedelta(seconds=max(120.0, settings.FANOUT_LEASE_FACTOR * (job.end - job.start)))


def transcribed_seconds(document_id: int) -> float:
    done = TranscriptChunk.objects.filter(document_id=document_id).aggregate(s=Sum(F("end") - F("start")))["s"]
    return float(done or 0.0)


class Fanout:
    """The coordinator's side: stage segments, queue their tasks, then help until all are done."""

    def __init__(self, document: Document, task_id: str, worker: str) -> None:
        self.document, self.task_id, self.worker = document, task_id, worker

    def stage(self, piece: AudioSegment, fingerprint: str, transcribe: Transcriber,
              report: Callable[[float], None]) -> None:  # fmt: skip
        """Stage one segment for every worker, once the staged samples leave room for it."""
        self._make_room(len(piece.audio) * BYTES_PER_SAMPLE, transcribe, report)
        folder = _folder(self.document.pk)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{piece.index}.npy"
        np.save(path, piece.audio.astype(np.float32, copy=False))  # exact: float16 cost accuracy
        job, _ = SegmentJob.objects.update_or_create(
            document=self.document, index=piece.index,
            defaults={"start": round(piece.start, 3), "end": round(piece.end, 3), "fingerprint": fingerprint,
                      "audio": str(path), "claimed_by": "", "claimed_until": None},
        )  # fmt: skip
        # without the broker the coordinator does the work itself
        dispatch.transcribe_segment(self.document.pk, self.task_id, job.pk, self.document.priority)

    def staged_bytes(self) -> int:
        """The samples staged and not yet transcribed, in bytes on disk."""
        seconds = SegmentJob.objects.filter(document=self.document).aggregate(s=Sum(F("end") - F("start")))["s"]
        return int((seconds or 0.0) * SAMPLE_RATE * BYTES_PER_SAMPLE)

    def _make_room(self, needed: int, transcribe: Transcriber, report: Callable[[float], None]) -> None:
        """Hold the decoding while more than FANOUT_MAX_STAGED_BYTES would wait on disk: help with
        the staged segments meanwhile (decoding faster than the workers transcribe, a long file
        would otherwise be staged whole)."""
        while (staged := self.staged_bytes()) and staged + needed > settings.FANOUT_MAX_STAGED_BYTES:
            job = claim_next(self.document.pk, self.worker)
            if job is not None:
                run_job(job, self.worker, transcribe)
            else:
                time.sleep(WAIT_POLL)
            report(transcribed_seconds(self.document.pk))

    def work_through(self, transcribe: Transcriber, report: Callable[[float], None]) -> None:
        """Transcribe unclaimed segments here and wait for those other workers hold, until none
        is left. ``report`` gets the seconds transcribed so far (and raises on cancel)."""
        while True:
            job = claim_next(self.document.pk, self.worker)
            if job is not None:
                run_job(job, self.worker, transcribe)
            elif not SegmentJob.objects.filter(document=self.document).exists():
                shutil.rmtree(_folder(self.document.pk), ignore_errors=True)
                break
            else:
                time.sleep(WAIT_POLL)
            report(transcribed_seconds(self.document.pk))


def _claimable() -> Q:
    return Q(claimed_by="") | Q(claimed_until__lt=timezone.now())


def claim(job_id: int, worker: str) -> SegmentJob | None:
    job = SegmentJob.objects.filter(pk=job_id).first()
    if job is None:
        return None
    until = timezone.now() + _lease(job)
    if not SegmentJob.objects.filter(_claimable(), pk=job_id).update(claimed_by=worker, claimed_until=until):
        return None
    job.claimed_by, job.claimed_until = worker, until
    return job


def claim_next(document_id: int, worker: str) -> SegmentJob | None:
    for job_id in SegmentJob.objects.filter(_claimable(), document_id=document_id).values_list("id", flat=True):
        if (job := claim(job_id, worker)) is not None:
            return job
    return None


def run_job(job: SegmentJob, worker: str, transcribe: Transcriber) -> None:
    """Transcribe a claimed job into its TranscriptChunk, then drop the job and its file. An
    error gives the claim back (the coordinator meets it again and fails the document with it)."""
    try:
        audio = np.load(job.audio)
        chunk = transcribe(job, audio)
    except Exception:
        SegmentJob.objects.filter(pk=job.pk, claimed_by=worker).update(claimed_by="", claimed_until=None)
        raise
    TranscriptChunk.objects.update_or_create(
        document_id=job.document_id, index=job.index,
        defaults={"start": job.start, "end": job.end, "fingerprint": job.fingerprint, "worker": worker, **chunk},
    )  # fmt: skip
    SegmentJob.objects.filter(pk=job.pk).delete()
    Path(job.audio).unlink(missing_ok=True)


def forget_if_deleted(document_id: int) -> bool:
    """After a run lost its document: remove the staged files if the document was deleted (its
    jobs went with it); a document taken over by another run keeps them."""
    if Document.objects.filter(pk=document_id).exists():
        return False
    cleanup(document_id)
    return True


@receiver(post_delete, sender=Document)
def _drop_staged_segments(sender: type[Document], instance: Document, **kwargs: Any) -> None:
    """A deleted document's staged samples go once the deletion commits (its jobs go with it by
    cascade), whether or not a run is left to notice."""
    folder = _folder(instance.pk)
    transaction.on_commit(lambda: shutil.rmtree(folder, ignore_errors=True))


def cleanup(document_id: int) -> None:
    """Remove a document's waiting segments (after a cancel or failure)."""
    SegmentJob.objects.filter(document_id=document_id).delete()
    shutil.rmtree(_folder(document_id), ignore_errors=True)
