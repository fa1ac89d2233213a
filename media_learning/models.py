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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document_id", "index"]
        constraints = [models.UniqueConstraint(fields=["document", "index"], name="transcript_chunk_document_index")]

    def __str__(self) -> str:
        return f"{self.document_id}#{self.index}"
