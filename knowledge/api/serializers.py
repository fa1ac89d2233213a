from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from rest_framework import serializers

from knowledge import access, ingest
from knowledge.access import role_of
from knowledge.embeddings import registered
from knowledge.kb_embedding import EmbeddingMismatch, check_model
from knowledge.models import (
    Document,
    KnowledgeBase,
    Membership,
    Paragraph,
    Priority,
    ProcessingRun,
    Role,
    WebhookDelivery,
)
from knowledge.names import clean_name
from stt_models.models import SpeechModel
from stt_models.options import language_or_auto


class KnowledgeBaseSerializer(serializers.ModelSerializer):
    document_count = serializers.IntegerField(read_only=True, default=0)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    role = serializers.SerializerMethodField(help_text="your role here: owner, editor or viewer")
    webhook_secret = serializers.CharField(
        write_only=True, required=False, min_length=16, max_length=100,
        help_text="HMAC key of the webhooks' X-Signature; write-only (set your own to verify signatures).",
    )  # fmt: skip

    stt_model = serializers.SlugRelatedField(
        slug_field="name", queryset=SpeechModel.objects.all(), required=False, allow_null=True,
        help_text="speech model (by name) for uploads that name none; null: the site's default (normally auto)",
    )  # fmt: skip
    language = serializers.CharField(
        required=False, allow_blank=True, max_length=16,
        help_text="spoken language (ISO 639-1, e.g. zh, en) of uploads that name none; blank: detected",
    )  # fmt: skip

    class Meta:
        model = KnowledgeBase
        fields = ["id", "name", "description", "owner", "role", "callback_url", "webhook_secret", "embedding_model",
                  "embedding_dimensions", "stt_model", "language", "script", "duplicates", "diarize", "document_count",
                  "created_at", "updated_at"]  # fmt: skip
        read_only_fields = ["id", "embedding_dimensions", "created_at", "updated_at"]
        extra_kwargs = {"embedding_model": {
            "help_text": "the embedding model of its paragraphs, one of the registered ones (EMBEDDING_MODELS; "
                         "default: EMBEDDING_MODEL at the first document); set at creation only"}}  # fmt: skip

    def validate_name(self, value: str) -> str:
        name = clean_name(value, 200)
        if not name:
            raise serializers.ValidationError("a name with something visible in it")
        request = self.context.get("request")
        owner = self.instance.owner if self.instance is not None else getattr(request, "user", None)
        mine = KnowledgeBase.objects.filter(owner=owner, name=name)
        if self.instance is not None:
            mine = mine.exclude(pk=self.instance.pk)
        if owner is not None and mine.exists():
            raise serializers.ValidationError(f"you already have a knowledge base named {name!r}")
        return name

    def validate_language(self, value: str) -> str:
        return language_or_auto(value)

    def validate(self, attrs: dict) -> dict:
        model = attrs.get("stt_model", getattr(self.instance, "stt_model", None))
        language = attrs.get("language", getattr(self.instance, "language", ""))
        if model is not None and model.english_only and language not in ("", "en"):
            raise serializers.ValidationError({"language": f"speech model {model.name!r} is English-only"})
        return attrs

    def validate_embedding_model(self, value: str) -> str:
        if self.instance is not None and value != self.instance.embedding_model:
            raise serializers.ValidationError(
                "an existing knowledge base moves to another model with `manage.py reindex --knowledge NAME --model M`"
            )
        if value and value not in registered():
            raise serializers.ValidationError(
                f"not a registered embedding model; choose one of: {', '.join(registered())}"
            )
        if value and self.instance is None:
            try:
                self._dimensions = check_model(value)
            except EmbeddingMismatch as exc:
                raise serializers.ValidationError(str(exc))
        return value

    def create(self, validated_data: dict) -> KnowledgeBase:
        if validated_data.get("embedding_model"):
            validated_data["embedding_dimensions"] = self._dimensions
        return super().create(validated_data)

    def get_role(self, obj: KnowledgeBase) -> str | None:
        request = self.context.get("request")
        return role_of(request.user, obj) if request else None


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)

    class Meta:
        model = Membership
        fields = ["username", "role", "created_at"]
        read_only_fields = ["created_at"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = ["id", "url", "status", "attempt", "delivered", "status_code", "response_excerpt", "error", "seconds",
                  "created_at"]  # fmt: skip
        read_only_fields = fields


class DocumentSerializer(serializers.ModelSerializer):
    stt_model = serializers.SlugRelatedField(slug_field="name", read_only=True, help_text="the model asked for")
    stt_model_used = serializers.SlugRelatedField(
        slug_field="name", read_only=True, help_text="the model that transcribed (auto chooses one)"
    )
    llm_model = serializers.SlugRelatedField(slug_field="name", read_only=True)
    paragraph_count = serializers.IntegerField(read_only=True, default=0)
    media_url = serializers.SerializerMethodField(help_text="the original media, for authorised users (Range)")
    reused_from = serializers.SerializerMethodField(
        help_text="the document whose transcript was reused (same media, model and options), when you may read it"
    )

    speakers = serializers.SerializerMethodField(
        help_text="who spoke (diarization): label, its name, seconds of speech, and match: the cosine with the "
        "known voice whose name it took (null when a person named it); [] when not diarized"
    )

    class Meta:
        model = Document
        fields = [
            "id", "knowledge_base", "name", "status", "stage", "progress", "error", "warnings", "language", "duration",
            "detected_language", "mime", "size", "sha256", "stt_model", "stt_model_used", "llm_model", "options",
            "llm_options", "priority", "source_url", "callback_url",
            "summary", "llm_usage", "status_meta", "paragraph_count", "media_url", "reused_from",
            "speakers", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_reused_from(self, obj: Document) -> int | None:
        """Shown only to a user who may read it: reuse across knowledge bases tells nobody about
        documents they cannot see."""
        if obj.reused_from_id is None:
            return None
        request = self.context.get("request")
        if request is None:  # the command line: an operator
            return obj.reused_from_id
        visible = access.documents_for(request.user).filter(pk=obj.reused_from_id).exists()
        return obj.reused_from_id if visible else None

    def get_speakers(self, obj: Document) -> list[dict]:
        voices = (obj.speakers or {}).get("voices") or {}
        return [{"label": k, "name": v.get("name") or k, "seconds": v.get("seconds", 0.0), "match": v.get("match")}
                for k, v in voices.items()]  # fmt: skip

    def get_media_url(self, obj: Document) -> str | None:
        return media_url(obj, self.context.get("request"))


def media_url(document: Document, request: object = None) -> str | None:
    """The media endpoint, which checks access and serves byte ranges (None once purged)."""
    if not document.file:
        return None
    url = reverse("document-media", kwargs={"pk": document.pk})
    return request.build_absolute_uri(url) if request is not None else url


class ProcessingRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProcessingRun
        fields = ["attempt", "outcome", "task_id", "worker", "stt_model", "llm_model", "started_at", "finished_at",
                  "seconds", "timings", "error_type", "error", "traceback"]  # fmt: skip
        read_only_fields = fields

    def to_representation(self, instance: ProcessingRun) -> dict:
        data = super().to_representation(instance)
        request = self.context.get("request")
        if not (request and request.user.is_staff):
            data.pop("traceback")  # code paths, host names and process ids are for operators
            data.pop("worker")
        return data


class DocumentDetailSerializer(DocumentSerializer):
    """A document with every processing attempt, oldest first."""

    runs = ProcessingRunSerializer(many=True, read_only=True)
    webhook_deliveries = WebhookDeliverySerializer(many=True, read_only=True)

    class Meta(DocumentSerializer.Meta):
        fields = [*DocumentSerializer.Meta.fields, "runs", "webhook_deliveries"]
        read_only_fields = fields


class ParagraphSerializer(serializers.ModelSerializer):
    class Meta:
        model = Paragraph
        fields = ["id", "document", "position", "kind", "title", "content", "raw_content", "start", "end",
                  "speaker", "corrected_at"]  # fmt: skip
        read_only_fields = fields


def option_fields(data: Any) -> dict[str, Any]:
    """The transcription and LLM options in a multipart form (a repeated field becomes a list) or
    a JSON body, as given: ``ingest.resolve_processing`` validates them against the models."""
    if hasattr(data, "getlist"):
        return {k: (v[0] if len(v) == 1 else v) for k in ingest.UPLOAD_OPTION_NAMES if (v := data.getlist(k))}
    return {k: data[k] for k in ingest.UPLOAD_OPTION_NAMES if k in data} if isinstance(data, dict) else {}


class UploadSerializer(serializers.Serializer):
    file = serializers.ListField(child=serializers.FileField(allow_empty_file=True), required=False,
                                 help_text="one or more media files; each becomes a document")  # fmt: skip
    file_url = serializers.ListField(
        child=serializers.URLField(max_length=2000), required=False,
        help_text="http(s) URLs of media (or platform pages, with the url extra) to download instead",
    )  # fmt: skip
    knowledge = serializers.IntegerField(required=False, help_text="the knowledge base (on /api/knowledge/document/)")
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
    callback_url = serializers.URLField(
        max_length=2000, required=False, allow_blank=True,
        help_text="webhook for these documents (default: the knowledge base's)",
    )  # fmt: skip
    stt_model_id = serializers.CharField(required=False, allow_blank=True)
    llm_model_id = serializers.CharField(
        required=False, allow_blank=True, help_text="An LLM (id or name) to polish the transcript and summarise it."
    )
    name = serializers.CharField(required=False, allow_blank=True, max_length=255)
    # Transcription options (language, task, segment_duration, ...) and the LLM options
    # (enable_punctuation, enable_summary, summary_prompt) are validated by stt_models.options and
    # llm_models.options against the chosen models; see docs/api.md.

    # Size and count limits are enforced while the body streams in (knowledge/upload_limits.py).

    def to_internal_value(self, data: object) -> dict:
        options = option_fields(data)
        if hasattr(data, "getlist"):  # multipart: repeated fields are lists
            data = {k: (data.getlist(k) if k in ("file", "file_url") else data[k]) for k in data}
        elif isinstance(data, dict) and isinstance(data.get("file_url"), str):
            data = {**data, "file_url": [data["file_url"]]}  # JSON: one URL or a list
        return {**super().to_internal_value(data), "options": options}

    def validate(self, attrs: dict) -> dict:
        if not attrs.get("file") and not attrs.get("file_url"):
            raise serializers.ValidationError(
                {"file": ["send one or more 'file' parts or a 'file_url' (file names must be valid UTF-8)"]}
            )
        return attrs


class WaitSerializer(serializers.Serializer):
    wait = serializers.IntegerField(required=False, min_value=0, help_text="seconds to wait for the documents")

    def validate_wait(self, value: int) -> int:
        if value > settings.UPLOAD_MAX_WAIT:
            raise serializers.ValidationError(f"whole seconds up to {settings.UPLOAD_MAX_WAIT} (UPLOAD_MAX_WAIT)")
        return value


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=2000)
    top_k = serializers.IntegerField(min_value=1, default=10)
    mode = serializers.ChoiceField(choices=["hybrid", "vector", "keyword"], default="hybrid")
    speaker = serializers.CharField(required=False, allow_blank=True, max_length=100)

    def validate_top_k(self, value: int) -> int:
        if value > settings.SEARCH_MAX_TOP_K:
            raise serializers.ValidationError(f"at most {settings.SEARCH_MAX_TOP_K}")
        return value


class SearchHitSerializer(serializers.Serializer):
    document_id = serializers.IntegerField(source="paragraph.document_id")
    document_name = serializers.CharField(source="paragraph.document.name")
    paragraph_id = serializers.IntegerField(source="paragraph.id")
    kind = serializers.CharField(source="paragraph.kind")
    title = serializers.CharField(source="paragraph.title")
    content = serializers.CharField(source="paragraph.content")
    start = serializers.FloatField(source="paragraph.start")
    end = serializers.FloatField(source="paragraph.end")
    speaker = serializers.CharField(source="paragraph.speaker", help_text="who says it, when the media was diarized")
    score = serializers.FloatField(
        help_text="hybrid: cosine + 0.05 x BM25 / the best BM25 of the query; vector: cosine; keyword: BM25"
    )
    vector_score = serializers.FloatField(allow_null=True, help_text="cosine similarity, when among the vector hits")
    keyword_score = serializers.FloatField(allow_null=True, help_text="BM25, when among the keyword hits")
    media_url = serializers.SerializerMethodField(help_text="The media at the paragraph's start (#t=seconds).")

    def get_media_url(self, hit) -> str | None:  # noqa: ANN001
        url = media_url(hit.paragraph.document, self.context.get("request"))
        return f"{url}#t={hit.paragraph.start:.2f}" if url else None
