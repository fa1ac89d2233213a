from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from knowledge import ingest
from knowledge import status as status_machine
from knowledge.models import Document, KnowledgeBase, Paragraph, ProcessingRun


@admin.register(KnowledgeBase)
class KnowledgeBaseAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "document_total", "created_at")
    search_fields = ("name", "description")

    def get_queryset(self, request: HttpRequest) -> QuerySet[KnowledgeBase]:
        return super().get_queryset(request).annotate(document_total=Count("documents"))

    @admin.display(description="documents", ordering="document_total")
    def document_total(self, obj: KnowledgeBase) -> int:
        return obj.document_total


class ParagraphInline(admin.TabularInline):
    model = Paragraph
    fields = ("position", "kind", "title", "start", "end", "content", "raw_content")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Document | None = None) -> bool:
        return False


class ProcessingRunInline(admin.TabularInline):
    model = ProcessingRun
    fields = ("attempt", "outcome", "worker", "stt_model", "llm_model", "started_at", "seconds", "timings",
              "error_type", "error", "traceback")  # fmt: skip
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Document | None = None) -> bool:
        return False


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ("name", "knowledge_base", "status", "stage", "progress_percent", "duration", "language",
                    "short_error", "created_at")  # fmt: skip
    list_filter = ("status", "stage", "knowledge_base", "stt_model", "llm_model")
    search_fields = ("name", "sha256", "error", "summary")
    readonly_fields = ("status", "stage", "progress", "error", "warnings", "summary", "llm_usage", "status_meta",
                       "sha256", "size", "mime", "duration", "language", "task_id", "heartbeat_at", "created_at",
                       "updated_at")  # fmt: skip
    inlines = [ProcessingRunInline, ParagraphInline]
    actions = ["cancel_documents", "reprocess_documents"]

    @admin.display(description="progress", ordering="progress")
    def progress_percent(self, obj: Document) -> str:
        return f"{obj.progress * 100:.0f}%"

    @admin.display(description="error")
    def short_error(self, obj: Document) -> str:
        return obj.error[:80]

    @admin.action(description="Cancel selected documents")
    def cancel_documents(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        done = sum(status_machine.cancel(doc.pk) is not None for doc in queryset)
        self.message_user(request, f"Cancel requested for {done} of {queryset.count()} document(s).")

    @admin.action(description="Reprocess selected FAILURE/REVOKED documents")
    def reprocess_documents(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        done = sum(ingest.reprocess(doc) for doc in queryset)
        level = messages.SUCCESS if done else messages.WARNING
        self.message_user(request, f"Queued {done} of {queryset.count()} document(s) again.", level)
