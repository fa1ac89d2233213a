from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from knowledge.models import Document, KnowledgeBase, Paragraph, ProcessingRun


class KnowledgeBaseSerializer(serializers.ModelSerializer):
    document_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = KnowledgeBase
        fields = ["id", "name", "description", "document_count", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class DocumentSerializer(serializers.ModelSerializer):
    stt_model = serializers.SlugRelatedField(slug_field="name", read_only=True)
    llm_model = serializers.SlugRelatedField(slug_field="name", read_only=True)
    paragraph_count = serializers.IntegerField(read_only=True, default=0)
    file_url = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id", "knowledge_base", "name", "status", "stage", "progress", "error", "warnings", "language", "duration",
            "mime", "size", "sha256", "stt_model", "llm_model", "options", "summary", "llm_usage", "status_meta",
            "paragraph_count", "file_url",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_file_url(self, obj: Document) -> str | None:
        request = self.context.get("request")
        if not obj.file:
            return None
        url = obj.file.url
        return request.build_absolute_uri(url) if request else url


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
            data.pop("traceback")  # code paths are for operators
        return data


class DocumentDetailSerializer(DocumentSerializer):
    """A document with every processing attempt, oldest first."""

    runs = ProcessingRunSerializer(many=True, read_only=True)

    class Meta(DocumentSerializer.Meta):
        fields = [*DocumentSerializer.Meta.fields, "runs"]
        read_only_fields = fields


class ParagraphSerializer(serializers.ModelSerializer):
    class Meta:
        model = Paragraph
        fields = ["id", "document", "position", "kind", "title", "content", "raw_content", "start", "end"]
        read_only_fields = fields


class UploadSerializer(serializers.Serializer):
    file = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True),
        min_length=1,
        error_messages={
            "required": "no file part named 'file' could be read (file names must be valid UTF-8)",
            "min_length": "no file part named 'file' could be read (file names must be valid UTF-8)",
        },
    )
    stt_model_id = serializers.CharField(required=False, allow_blank=True)
    llm_model_id = serializers.CharField(
        required=False, allow_blank=True, help_text="An LLM (id or name) to polish the transcript and summarise it."
    )
    name = serializers.CharField(required=False, allow_blank=True, max_length=255)
    # Transcription options (language, task, segment_duration, ...) and the LLM options
    # (enable_punctuation, enable_summary, summary_prompt) are validated by stt_models.options and
    # llm_models.options against the chosen models; see docs/api.md.

    # The size limit is checked in the view, which answers 413 (see too_large_uploads).


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=2000)
    top_k = serializers.IntegerField(min_value=1, default=10)
    mode = serializers.ChoiceField(choices=["hybrid", "vector", "keyword"], default="hybrid")

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
    score = serializers.FloatField(help_text="hybrid: the fused RRF score; vector: cosine; keyword: ts_rank_cd")
    vector_score = serializers.FloatField(allow_null=True, help_text="cosine similarity, when among the vector hits")
    keyword_score = serializers.FloatField(allow_null=True, help_text="ts_rank_cd, when among the keyword hits")
    media_url = serializers.SerializerMethodField(help_text="The media file at the paragraph's start (#t=).")

    def get_media_url(self, hit) -> str:  # noqa: ANN001
        request = self.context.get("request")
        url = hit.paragraph.document.file.url
        url = request.build_absolute_uri(url) if request else url
        return f"{url}#t={hit.paragraph.start:.2f}"
