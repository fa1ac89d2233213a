"""Per-segment transcription results, saved as each media segment finishes.

They make progress real, let a retry resume at the first unfinished segment, and together
are the document's transcript (exported by the transcript endpoint).
"""

from __future__ import annotations

from django.db import models

from knowledge.models import Document


class TranscriptChunk(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="transcript_chunks")
    index = models.PositiveIntegerField()
    start = models.FloatField(help_text="seconds from the start of the media")
    end = models.FloatField(help_text="seconds from the start of the media")
    language = models.CharField(max_length=16, blank=True)
    # [{"start", "end", "text", "words": [{"start", "end", "word", "probability"}] | null}],
    # timestamps already on the media's timeline.
    segments = models.JSONField(default=list)
    # Which model and options produced it; a chunk from other settings is not reused.
    fingerprint = models.CharField(max_length=64)
    worker = models.CharField(max_length=200, blank=True, help_text="who transcribed it (host and pid)")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document_id", "index"]
        constraints = [models.UniqueConstraint(fields=["document", "index"], name="transcript_chunk_document_index")]

    def __str__(self) -> str:
        return f"{self.document_id}#{self.index}"


class SegmentJob(models.Model):
    """A media segment waiting for any worker to transcribe it (fan-out of long media); its
    16 kHz samples wait in a file under MEDIA_ROOT/segments/. Done, it becomes a TranscriptChunk
    and the row and file go."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="segment_jobs")
    index = models.PositiveIntegerField()
    start = models.FloatField()
    end = models.FloatField()
    fingerprint = models.CharField(max_length=64)
    audio = models.CharField(max_length=500, help_text="path of the float32 samples")
    claimed_by = models.CharField(max_length=200, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["document_id", "index"]
        constraints = [models.UniqueConstraint(fields=["document", "index"], name="segment_job_document_index")]

    def __str__(self) -> str:
        return f"{self.document_id}#{self.index} ({self.claimed_by or 'waiting'})"
