"""Knowledge bases, their documents (one uploaded media file each) and timestamped paragraphs."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q, Value
from django.utils.translation import gettext_lazy as _
from pgvector.django import HalfVectorField, VectorField

from core.model_fields import optional_link
from knowledge.chinese_script import SCRIPTS, SIMPLIFIED


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


class KnowledgeBase(models.Model):
    name = models.CharField(max_length=200, help_text="unique per owner")
    description = models.TextField(blank=True)
    owner = optional_link(settings.AUTH_USER_MODEL, "knowledge_bases")
    callback_url = models.URLField(
        max_length=2000, blank=True, help_text="Webhook called when a document finishes, unless the upload names one."
    )
    webhook_secret = models.CharField(
        max_length=100, default=new_webhook_secret, help_text="Key of the HMAC-SHA256 X-Signature on webhooks."
    )
    # One embedding model per knowledge base: fixed by its first indexed document (EMBEDDING_MODEL
    # then) or at creation; changed only by a reindex, which switches every paragraph at once.
    embedding_model = models.CharField(max_length=200, blank=True)
    embedding_dimensions = models.PositiveIntegerField(null=True, blank=True)
    # Defaults for its uploads: the speech model (blank: the site's default, normally "auto") and
    # the spoken language (blank: detected); Chinese transcripts are written in ``script``.
    stt_model = optional_link(
        "stt_models.SpeechModel", "+", help_text="speech model for uploads that name none (blank: the default model)"
    )
    language = models.CharField(
        max_length=16, blank=True, help_text="spoken language of uploads that name none (blank: detect it)"
    )
    script = models.CharField(
        max_length=8, choices=SCRIPTS, default=SIMPLIFIED, help_text="how Chinese transcripts are written"
    )
    duplicates = models.CharField(
        _("duplicates"), max_length=8, default="reuse",
        choices=[("reuse", _("reuse the transcript")), ("refuse", _("refuse the upload")),
                 ("again", _("transcribe again"))],
        help_text="an upload of media already transcribed: reuse that transcript, refuse the upload (409) if this "
        "knowledge base holds it, or transcribe it again (to compare models; benchmarks)",
    )  # fmt: skip
    diarize = models.CharField(
        _("speakers"), max_length=4, default="auto", blank=True,
        choices=[("auto", _("find them in recordings over a minute")), ("on", _("always find them")),
                 ("off", _("never"))],
        help_text="speaker diarization of uploads that do not say (their diarize option wins); blank: auto",
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("knowledge base")
        verbose_name_plural = _("knowledge bases")
        ordering = ["name"]
        constraints = [
            # Per owner, so that a name taken by another user says nothing about them.
            models.UniqueConstraint(fields=["owner", "name"], name="knowledge_base_name_per_owner"),
            models.UniqueConstraint(fields=["name"], condition=Q(owner__isnull=True),
                                    name="knowledge_base_name_without_owner"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    """What a member may do in a knowledge base; each role includes the ones below it."""

    OWNER = "owner"  # change or delete the knowledge base, manage members
    EDITOR = "editor"  # upload, cancel, reprocess, delete documents
    VIEWER = "viewer"  # read documents and transcripts, search, play media


ROLE_RANK = {Role.VIEWER: 1, Role.EDITOR: 2, Role.OWNER: 3}


class Membership(models.Model):
    """A user's role in a knowledge base (its creator is its owner without a row here)."""

    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["knowledge_base", "user"], name="membership_one_per_user"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} is {self.role} of {self.knowledge_base}"


class Priority(models.TextChoices):
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class Status(models.TextChoices):
    PENDING = "PENDING"
    STARTED = "STARTED"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    REVOKE = "REVOKE"  # cancel asked while STARTED; the worker turns it into REVOKED
    REVOKED = "REVOKED"


class Stage(models.TextChoices):
    NONE = "", "-"
    FETCHING = "fetching"  # downloading a file_url (in the worker: no web thread waits on a remote host)
    TRANSCRIBING = "transcribing"
    DIARIZING = "diarizing"  # finding who spoke when (its own queue, after transcription)
    POLISHING = "polishing"
    INDEXING = "indexing"


TERMINAL_STATUSES = (Status.SUCCESS, Status.FAILURE, Status.REVOKED)


class ParagraphKind(models.TextChoices):
    TRANSCRIPT = "transcript"
    SUMMARY = "summary"


class DocumentQuerySet(models.QuerySet):
    def with_counts(self) -> DocumentQuerySet:
        """Annotate ``paragraph_count`` and fetch the speech model, as the API shows them."""
        counted = self.annotate(paragraph_count=models.Count("paragraphs"))
        # Meta.ordering is not applied to GROUP BY queries, so order explicitly.
        return counted.select_related("stt_model", "stt_model_used", "llm_model").order_by(*Document._meta.ordering)


class Document(models.Model):
    """One uploaded audio or video file and the state of its processing."""

    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="documents")
    name = models.CharField(max_length=255)
    file = models.FileField(upload_to="documents/%Y/%m/", max_length=500)
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.BigIntegerField(default=0)
    mime = models.CharField(max_length=100, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="seconds")
    language = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING, db_index=True)
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.NONE, blank=True)
    progress = models.FloatField(default=0.0)
    error = models.TextField(blank=True)
    warnings = models.JSONField(default=list, blank=True, help_text="one-line notes, e.g. 'no speech detected'")
    # {"PENDING": iso time, "STARTED": ..., ...}: when each status was last entered.
    status_meta = models.JSONField(default=dict, blank=True)
    # What the speech model is asked (language, task, segment_duration, speakers, ...): a change
    # here makes a new transcript (its fingerprint, media_learning/pipeline/transcribe.py).
    options = models.JSONField(default=dict, blank=True, help_text="transcription options")
    # What the LLM is asked (enable_punctuation, enable_summary, summary_prompt): a change here
    # polishes and summarises the stored transcript again, nothing more.
    llm_options = models.JSONField(default=dict, blank=True, help_text="LLM options")
    stt_model = optional_link("stt_models.SpeechModel", "documents", help_text="the speech model asked for (e.g. auto)")
    # What "auto" (or the check before an English-only model) found and chose.
    detected_language = models.CharField(
        max_length=16, blank=True, help_text="language detected on the first 30 s of speech (blank: none relied on)"
    )
    stt_model_used = optional_link(
        "stt_models.SpeechModel", "+", help_text="the speech model that wrote the transcript"
    )
    llm_model = optional_link(
        "llm_models.LanguageModel",
        "documents",
        help_text="The LLM that polishes the transcript and writes the summary (none: raw transcript only).",
    )
    summary = models.TextField(blank=True)
    speakers = models.JSONField(
        default=dict, blank=True,
        help_text="Diarization: {'turns': [[start, end, label]...], 'voices': {label: {seconds, name, embedding}}}",
    )  # fmt: skip
    priority = models.CharField(max_length=6, choices=Priority.choices, default=Priority.NORMAL)
    source_url = models.URLField(max_length=2000, blank=True, help_text="Where the media was fetched from.")
    callback_url = models.URLField(max_length=2000, blank=True, help_text="Webhook for this document.")
    # {"model", "prompt_tokens", "completion_tokens", "total_tokens", "requests", "failed_requests"}
    llm_usage = models.JSONField(default=dict, blank=True)
    owner = optional_link(settings.AUTH_USER_MODEL, "documents")
    searchable = models.BooleanField(
        default=False, help_text="its paragraphs are in search: from its first SUCCESS on, also while it is re-run"
    )
    reused_from = optional_link(
        "self", "+", help_text="the finished document with the same media and transcription whose transcript was reused"
    )
    task_id = models.CharField(max_length=64, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DocumentQuerySet.as_manager()

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["knowledge_base", "status"])]
        constraints = [
            models.CheckConstraint(condition=Q(progress__gte=0) & Q(progress__lte=1), name="document_progress_0_1"),
            models.CheckConstraint(condition=Q(status__in=Status.values), name="document_status_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        if self.status == Status.SUCCESS:  # a document written finished (imports, fixtures) is searchable
            self.searchable = True
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "searchable"}
        super().save(*args, **kwargs)


class Paragraph(models.Model):
    """A piece of a document's transcript with the moment it was spoken and its embedding."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="paragraphs")
    # Denormalised from document so that search filters without a join.
    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="paragraphs")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=ParagraphKind.choices, default=ParagraphKind.TRANSCRIPT)
    title = models.CharField(max_length=255, blank=True)
    content = models.TextField(help_text="The text as indexed: polished by the LLM when it was asked to.")
    raw_content = models.TextField(
        blank=True, help_text="The text as the speech model wrote it, kept when it was changed (script, LLM)."
    )
    start = models.FloatField(help_text="seconds from the start of the media")
    end = models.FloatField(help_text="seconds from the start of the media")
    speaker = models.CharField(max_length=100, blank=True, help_text="who says it: a diarization label or its name")
    cues = models.JSONField(
        default=list, db_default=Value([], output_field=models.JSONField()), blank=True,
        help_text="[start, end, text] of each transcribed segment it is made of: where in it something is said",
    )  # fmt: skip
    # No fixed dimension: each embedding model gets a partial HNSW index on a dimension cast.
    embedding = VectorField(null=True, blank=True)
    embedding_model = models.CharField(max_length=200, blank=True)
    embedding_dimensions = models.PositiveIntegerField(null=True, blank=True)
    # English text only: its all-MiniLM-L6-v2 vector, read for a search's candidates (no index;
    # knowledge/english_vectors.py).
    english_embedding = HalfVectorField(dimensions=384, null=True, blank=True)
    # English words stemmed, Chinese segmented with jieba (knowledge/text_search.py).
    search_vector = SearchVectorField(null=True, blank=True)
    corrected_at = models.DateTimeField(
        null=True, blank=True, help_text="when a person last corrected the text (knowledge/corrections.py)"
    )

    class Meta:
        verbose_name = _("paragraph")
        verbose_name_plural = _("paragraphs")
        ordering = ["document_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["document", "position"], name="paragraph_document_position"),
            models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="paragraph_end_after_start"),
            # the stored dimension is the vector's: a row cannot claim one size and hold another
            models.CheckConstraint(
                condition=Q(embedding__isnull=True)
                | Q(
                    embedding_dimensions=models.Func(
                        "embedding", function="vector_dims", output_field=models.IntegerField()
                    )
                ),
                name="paragraph_embedding_dimensions",
            ),  # fmt: skip
        ]
        indexes = [
            models.Index(fields=["knowledge_base", "embedding_model"]),
            GinIndex(fields=["search_vector"], name="paragraph_search_vector"),
        ]

    def __str__(self) -> str:
        return f"{self.document_id}#{self.position}"


class ParagraphRevision(models.Model):
    """The text of a paragraph before and after one correction, and who made it."""

    paragraph = models.ForeignKey(Paragraph, on_delete=models.CASCADE, related_name="revisions")
    previous = models.TextField(help_text="the text before this correction")
    content = models.TextField(help_text="the text this correction wrote")
    user = optional_link(settings.AUTH_USER_MODEL, "+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("paragraph revision")
        verbose_name_plural = _("paragraph revisions")
        ordering = ["paragraph_id", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.paragraph_id} at {self.created_at:%Y-%m-%d %H:%M}"


class Voice(models.Model):
    """A named speaker of a knowledge base: the mean voice embedding (CAM++, unit length) of the
    speakers people gave this name, which later recordings are matched against (voices.py)."""

    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="voices")
    name = models.CharField(max_length=100)
    embedding = models.JSONField(help_text="192 floats, unit length")
    samples = models.PositiveIntegerField(default=1, help_text="speakers named this (the embedding is their mean)")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("voice")
        verbose_name_plural = _("voices")
        ordering = ["knowledge_base_id", "name"]
        constraints = [models.UniqueConstraint(fields=["knowledge_base", "name"], name="voice_name_per_kb")]

    def __str__(self) -> str:
        return self.name


class Posting(models.Model):
    """One term of one paragraph's search vector: the keyword index that BM25 ranks from
    (knowledge/text_search.py). Rows with the empty term carry each paragraph's length, from
    which the knowledge base's paragraph count and mean length are read. Deleting a paragraph
    deletes its postings in the database (ON DELETE CASCADE, added by the migration)."""

    paragraph = models.ForeignKey(Paragraph, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    knowledge_base_id = models.BigIntegerField()
    term = models.TextField()
    tf = models.FloatField(help_text="occurrences of the term in the paragraph")
    length = models.IntegerField(help_text="the paragraph's length in terms")

    class Meta:
        indexes = [
            models.Index(
                fields=["knowledge_base_id", "term"], include=["paragraph", "tf", "length"], name="posting_kb_term"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.paragraph_id}:{self.term}"


class RunOutcome(models.TextChoices):
    RUNNING = "running"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    RETRY = "RETRY"  # a transient error; the task was retried
    REVOKED = "REVOKED"
    LOST = "LOST"  # the worker died (killed, out of memory) or the broker lost the task


class ProcessingRun(models.Model):
    """One attempt at processing a document: who ran it, with what, how long, how it ended."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="runs")
    attempt = models.PositiveIntegerField()
    task_id = models.CharField(max_length=64)
    worker = models.CharField(max_length=200, blank=True, help_text="worker host name and process id")
    stt_model = models.CharField(max_length=100, blank=True)
    llm_model = models.CharField(max_length=100, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)
    outcome = models.CharField(max_length=8, choices=RunOutcome.choices, default=RunOutcome.RUNNING)
    error_type = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True, help_text="the end of the traceback, for unexpected errors")
    # seconds per step, e.g. {"transcribe": 12.1, "polish": 3.4, "index": 0.8}
    timings = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("processing run")
        verbose_name_plural = _("processing runs")
        ordering = ["document_id", "attempt"]
        constraints = [models.UniqueConstraint(fields=["document", "attempt"], name="processing_run_attempt")]

    def __str__(self) -> str:
        return f"{self.document_id} attempt {self.attempt}: {self.outcome}"


class WebhookDelivery(models.Model):
    """One POST of a document's terminal state to its webhook, as it went."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="webhook_deliveries")
    url = models.URLField(max_length=2000)
    status = models.CharField(max_length=8, help_text="the document status that was reported")
    attempt = models.PositiveIntegerField()
    payload = models.JSONField(default=dict)
    status_code = models.PositiveIntegerField(null=True, blank=True, help_text="none when no answer came")
    response_excerpt = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=500, blank=True)
    delivered = models.BooleanField(default=False)
    seconds = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["document_id", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.document_id} -> {self.url}: {self.status_code or self.error}"


class StagedEmbedding(models.Model):
    """A paragraph's vector from the model a reindex is moving its knowledge base to; swapped
    into the paragraph, for the whole knowledge base in one transaction, once all are ready."""

    paragraph = models.ForeignKey(Paragraph, on_delete=models.CASCADE, related_name="staged_embeddings")
    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="+")
    model = models.CharField(max_length=200)
    dimensions = models.PositiveIntegerField()
    embedding = VectorField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["paragraph", "model"], name="staged_embedding_once")]

    def __str__(self) -> str:
        return f"{self.paragraph_id} -> {self.model}"


class AnswerOutcome(models.TextChoices):
    ANSWERED = "answered"
    NOT_FOUND = "not_found"  # nothing relevant enough was found: the LLM was not asked
    FAILED = "failed"  # the LLM could not answer (unavailable, refused); ``error`` says why


class Question(models.Model):
    """One question put to a knowledge base (``knowledge/ask``): what was asked, the answer with
    its citations, which LLM answered and the tokens it used."""

    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="questions")
    user = optional_link(settings.AUTH_USER_MODEL, "+")
    question = models.TextField()
    language = models.CharField(max_length=8, blank=True, help_text="the language the answer was asked in")
    answer = models.TextField(blank=True)
    outcome = models.CharField(max_length=16, choices=AnswerOutcome.choices)
    error = models.CharField(max_length=500, blank=True)
    # [{"number": 1, "document_id": ..., "paragraph_id": ..., "start": ..., "end": ...}]
    citations = models.JSONField(default=list, blank=True)
    invalid_citations = models.JSONField(
        default=list, blank=True, help_text="passage numbers the model cited that it was not given"
    )
    passages = models.PositiveIntegerField(default=0, help_text="how many passages the model was given")
    llm_model = models.CharField(max_length=100, blank=True)
    usage = models.JSONField(default=dict, blank=True)
    seconds = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.question[:80]


class SourceKind(models.TextChoices):
    FOLDER = "folder", _("folder")
    FEED = "feed", _("feed")


class Source(models.Model):
    """A watched folder or feed whose new media are ingested into a knowledge base, once each
    (knowledge/sources.py): by content hash for files, by item for feeds."""

    kind = models.CharField(max_length=8, choices=SourceKind.choices)
    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="sources")
    location = models.CharField(max_length=2000, help_text="a folder on the workers' machine, or a feed's URL")
    stt_model = optional_link("stt_models.SpeechModel", "+")
    llm_model = optional_link("llm_models.LanguageModel", "+")
    options = models.JSONField(default=dict, blank=True)
    move_to = models.CharField(max_length=2000, blank=True, help_text="folders: move each ingested file here")
    interval = models.PositiveIntegerField(default=300, help_text="seconds between two looks")
    enabled = models.BooleanField(default=True)
    owner = optional_link(settings.AUTH_USER_MODEL, "+")
    checked_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, help_text="why the last look failed (blank: it did not)")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("source")
        verbose_name_plural = _("sources")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.location}"


class SourceItem(models.Model):
    """One file or feed item a source has seen: ingested (with its document) or skipped, and why."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="items")
    key = models.CharField(max_length=80, help_text="the file's SHA-256, or that of the feed item's id")
    name = models.CharField(max_length=500)
    document = optional_link(Document, "+")
    ingested = models.BooleanField()
    reason = models.CharField(max_length=500, blank=True, help_text="why it was skipped")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["source", "key"], name="source_item_once")]

    def __str__(self) -> str:
        return self.name
