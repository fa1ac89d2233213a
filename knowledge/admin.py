"""The Django admin follows the API's rules: a user who is not a superuser sees only the
knowledge bases they own or hold a role in, changes documents only as an editor and knowledge
bases only as their owner. Webhook secrets can be set here but are never shown."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ValidationError

from core.errors import FieldErrors
from knowledge import access, ingest, transitions
from knowledge.api.serializers import media_url
from knowledge.models import (
    Document,
    KnowledgeBase,
    Membership,
    Paragraph,
    ProcessingRun,
    Question,
    Role,
    Source,
    SourceItem,
    Status,
    Voice,
    WebhookDelivery,
)
from llm_models.options import LLM_OPTION_NAMES
from stt_models.options import language_or_auto

STATUS_COLOURS = {
    Status.PENDING: "#6c757d", Status.STARTED: "#0d6efd", Status.SUCCESS: "#198754", Status.FAILURE: "#dc3545",
    Status.REVOKE: "#fd7e14", Status.REVOKED: "#adb5bd",
}  # fmt: skip


def clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("user",)
    extra = 0


class KnowledgeBaseForm(forms.ModelForm):
    webhook_secret = forms.CharField(
        required=False, min_length=16, widget=forms.PasswordInput(render_value=False),
        help_text="A new HMAC key for the webhooks' X-Signature; empty keeps the current one (never shown).",
    )  # fmt: skip

    class Meta:
        model = KnowledgeBase
        fields = [
            "name",
            "description",
            "owner",
            "stt_model",
            "language",
            "script",
            "duplicates",
            "diarize",
            "callback_url",
            "webhook_secret",
        ]

    def clean_webhook_secret(self) -> str:
        return self.cleaned_data["webhook_secret"] or self.instance.webhook_secret

    def clean_language(self) -> str:
        try:
            return language_or_auto(self.cleaned_data.get("language") or "")
        except ValidationError:
            raise forms.ValidationError(_("Unknown language code; use an ISO 639-1 code such as zh or en."))


class DocumentForm(forms.ModelForm):
    """A document's models and options, when edited here, are checked as an upload's are
    (``ingest.resolve_processing``) and stored cleaned: the reprocess action runs them as
    stored."""

    class Meta:
        model = Document
        exclude = ("speakers",)  # noqa: DJ006 - DocumentAdmin chooses the fields; this form checks the options

    def clean(self) -> dict:
        data = super().clean()
        if self.errors or not {"stt_model", "llm_model", "options", "llm_options"} & set(self.changed_data):
            return data
        options, llm_options, llm = data.get("options"), data.get("llm_options"), data.get("llm_model")
        for name, value in (("options", options), ("llm_options", llm_options)):
            if not isinstance(value, dict):
                raise forms.ValidationError({name: _("An object of options, e.g. {}.").format('{"language": "en"}')})
        misplaced = sorted(set(options) & set(LLM_OPTION_NAMES)) or sorted(set(llm_options) - set(LLM_OPTION_NAMES))
        if misplaced:
            text = _("%(names)s: transcription options go in options, the LLM's (%(llm)s) in llm_options.")
            raise forms.ValidationError(text % {"names": ", ".join(misplaced), "llm": ", ".join(LLM_OPTION_NAMES)})
        if llm is None and llm_options:
            raise forms.ValidationError({"llm_options": _("LLM options need an LLM: choose one, or empty them.")})
        stt = data.get("stt_model")
        try:
            plan = ingest.resolve_processing(stt.pk if stt else None, llm.pk if llm else None,
                                             {**options, **llm_options})  # fmt: skip
        except FieldErrors as exc:
            raise forms.ValidationError("; ".join(f"{k}: {v}" for k, v in exc.errors.items()))
        # as for an upload: an LLM with polishing and the summary both switched off is no LLM
        data["options"], data["llm_options"], data["llm_model"] = plan.options, plan.llm_options, plan.llm_model
        return data


@admin.register(KnowledgeBase)
class KnowledgeBaseAdmin(admin.ModelAdmin):
    form = KnowledgeBaseForm
    list_display = ("name", "owner", "document_total", "stt_model", "language", "script", "created_at")
    search_fields = ("name", "description")
    inlines = [MembershipInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[KnowledgeBase]:
        visible = super().get_queryset(request).filter(pk__in=access.knowledge_bases_for(request.user))
        return visible.annotate(document_total=Count("documents"))

    def has_change_permission(self, request: HttpRequest, obj: KnowledgeBase | None = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or access.allows(request.user, obj, Role.OWNER))

    def has_delete_permission(self, request: HttpRequest, obj: KnowledgeBase | None = None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or access.allows(request.user, obj, Role.OWNER))

    def save_model(self, request: HttpRequest, obj: KnowledgeBase, form: forms.Form, change: bool) -> None:
        if not change and obj.owner_id is None:
            obj.owner = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description=gettext_lazy("documents"), ordering="document_total")
    def document_total(self, obj: KnowledgeBase) -> int:
        return obj.document_total


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Document | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Document | None = None) -> bool:
        return False


class ParagraphInline(ReadOnlyInline):
    model = Paragraph
    fields = ("position", "kind", "title", "start", "end", "speaker", "content", "raw_content")
    readonly_fields = fields


class ProcessingRunInline(ReadOnlyInline):
    model = ProcessingRun
    fields = ("attempt", "outcome", "worker", "stt_model", "llm_model", "started_at", "seconds", "timings",
              "error_type", "error", "traceback")  # fmt: skip
    readonly_fields = fields


class WebhookDeliveryInline(ReadOnlyInline):
    model = WebhookDelivery
    fields = ("created_at", "url", "status", "attempt", "delivered", "status_code", "response_excerpt", "error",
              "seconds")  # fmt: skip
    readonly_fields = fields


@admin.register(Voice)
class VoiceAdmin(admin.ModelAdmin):
    """Known voices: named speakers later recordings are matched against. Deleting one stops the
    matching; the names already on documents stay."""

    list_display = ("name", "knowledge_base", "samples", "updated_at")
    list_filter = ("knowledge_base",)
    search_fields = ("name",)
    fields = ("knowledge_base", "name", "samples", "created_at", "updated_at")
    readonly_fields = fields  # names are given on a document's speakers, where they reach its paragraphs

    def get_queryset(self, request: HttpRequest) -> QuerySet[Voice]:
        return super().get_queryset(request).filter(knowledge_base__in=access.knowledge_bases_for(request.user))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a voice is taught by naming a speaker, never typed in

    def has_delete_permission(self, request: HttpRequest, obj: Voice | None = None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or access.allows(request.user, obj.knowledge_base, Role.EDITOR))


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    form = DocumentForm
    list_display = ("name", "knowledge_base", "status_badge", "stage", "progress_bar", "attempts", "duration",
                    "language", "stt_model_used", "priority", "short_error", "created_at")  # fmt: skip
    list_filter = ("status", "stage", "priority", "language", "knowledge_base", "stt_model", "stt_model_used",
                   "llm_model")  # fmt: skip
    search_fields = ("name", "sha256", "error", "summary", "source_url")
    readonly_fields = ("transcript_link", "status", "stage", "progress", "error", "warnings", "summary", "llm_usage",
                       "status_meta", "sha256", "size", "mime", "duration", "language", "detected_language",
                       "stt_model_used", "source_url", "task_id", "speaker_list",
                       "heartbeat_at", "created_at", "updated_at")  # fmt: skip
    exclude = ("speakers",)  # shown as speaker_list: turns and voice embeddings are not for editing
    inlines = [ProcessingRunInline, WebhookDeliveryInline, ParagraphInline]
    actions = ["cancel_documents", "reprocess_documents", "rerun_documents", "delete_selected"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Document]:
        visible = super().get_queryset(request).filter(knowledge_base__in=access.knowledge_bases_for(request.user))
        return visible.annotate(attempt_count=Count("runs"))

    def _editor(self, request: HttpRequest, obj: Document | None) -> bool:
        return obj is None or access.allows(request.user, obj.knowledge_base, Role.EDITOR)

    def has_change_permission(self, request: HttpRequest, obj: Document | None = None) -> bool:
        return super().has_change_permission(request, obj) and self._editor(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Document | None = None) -> bool:
        return super().has_delete_permission(request, obj) and self._editor(request, obj)

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):  # noqa: ANN001, ANN201
        if db_field.name == "knowledge_base":
            kwargs["queryset"] = access.knowledge_bases_for(request.user, Role.EDITOR)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def editable(self, request: HttpRequest, queryset: QuerySet[Document]) -> QuerySet[Document]:
        return queryset.filter(knowledge_base__in=access.knowledge_bases_for(request.user, Role.EDITOR))

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_badge(self, obj: Document) -> str:
        colour = STATUS_COLOURS.get(obj.status, "#6c757d")
        return format_html(
            '<span class="status-badge" style="background:{};color:#fff;padding:2px 8px;border-radius:10px;'
            'font-size:11px;font-weight:600">{}</span>', colour, obj.status,
        )  # fmt: skip

    @admin.display(description=gettext_lazy("progress"), ordering="progress")
    def progress_bar(self, obj: Document) -> str:
        percent = round(obj.progress * 100)
        return format_html('<progress value="{}" max="100" title="{}%"></progress> {}%', percent, percent, percent)

    @admin.display(description=gettext_lazy("attempts"), ordering="attempt_count")
    def attempts(self, obj: Document) -> int:
        return obj.attempt_count

    @admin.display(description=gettext_lazy("error"))
    def short_error(self, obj: Document) -> str:
        return obj.error[:80]

    @admin.display(description=gettext_lazy("transcript"))
    @admin.display(description=gettext_lazy("speakers"))
    def speaker_list(self, obj: Document) -> str:
        voices = (obj.speakers or {}).get("voices") or {}
        return ", ".join(f"{v.get('name') or k} ({k}, {v.get('seconds', 0):.0f} s)" for k, v in voices.items()) or "-"

    def transcript_link(self, obj: Document) -> str:
        if not obj.pk:
            return "-"
        url = reverse("admin:knowledge_document_transcript", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Read the transcript with timestamps and play the media"))

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(self.transcript_view)
        return [path("<int:pk>/transcript/", view, name="knowledge_document_transcript"), *super().get_urls()]

    def transcript_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        document = get_object_or_404(self.get_queryset(request), pk=pk)
        paragraphs = [
            {"start": p.start, "end": p.end, "clock": clock(p.start), "kind": p.kind, "content": p.content}
            for p in document.paragraphs.order_by("position")
        ]
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "original": document,
            "title": _("Transcript: %(name)s") % {"name": document.name}, "document": document,
            "paragraphs": paragraphs,
            "media_url": media_url(document),
        }  # fmt: skip
        return TemplateResponse(request, "admin/knowledge/document/transcript.html", context)

    @admin.action(description=gettext_lazy("Cancel selected documents"))
    def cancel_documents(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        done = sum(transitions.cancel(doc.pk) is not None for doc in self.editable(request, queryset))
        text = _("Cancel requested for %(done)d of %(total)d document(s).")
        self.message_user(request, text % {"done": done, "total": queryset.count()})

    @admin.action(description=gettext_lazy("Re-run selected SUCCESS documents (their search stays until replaced)"))
    def rerun_documents(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        done, refused = 0, []
        for doc in self.editable(request, queryset):
            try:
                ingest.rerun(doc, ingest.plan_for(doc))
                done += 1
            except (ingest.RerunRefused, FieldErrors) as exc:
                refused.append(f"{doc.name}: {exc}")
        text = _("Re-running %(done)d of %(total)d document(s).")
        self.message_user(request, text % {"done": done, "total": queryset.count()},
                          messages.SUCCESS if done else messages.WARNING)  # fmt: skip
        for reason in refused[:10]:
            self.message_user(request, reason, messages.WARNING)

    @admin.action(description=gettext_lazy("Reprocess selected FAILURE/REVOKED documents"))
    def reprocess_documents(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        done = sum(ingest.reprocess(doc) for doc in self.editable(request, queryset))
        level = messages.SUCCESS if done else messages.WARNING
        text = _("Queued %(done)d of %(total)d document(s) again.")
        self.message_user(request, text % {"done": done, "total": queryset.count()}, level)


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    """Questions asked of knowledge bases, read only: what was answered, from what, at what cost.
    A user who is not a superuser sees those of the knowledge bases they may see."""

    list_display = ("short_question", "knowledge_base", "user", "outcome", "llm_model", "tokens", "seconds",
                    "created_at")  # fmt: skip
    list_filter = ("outcome", "llm_model")
    search_fields = ("question", "answer")
    readonly_fields = ("knowledge_base", "user", "question", "language", "answer", "outcome", "error", "citations",
                       "invalid_citations", "passages", "llm_model", "usage", "seconds", "created_at")  # fmt: skip
    fields = readonly_fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Question]:
        visible = access.knowledge_bases_for(request.user)
        return super().get_queryset(request).filter(knowledge_base__in=visible).select_related("knowledge_base", "user")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Question | None = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("question"))
    def short_question(self, obj: Question) -> str:
        return obj.question[:80]

    @admin.display(description=gettext_lazy("tokens"))
    def tokens(self, obj: Question) -> int:
        return int(obj.usage.get("total_tokens") or 0)


class SourceItemInline(ReadOnlyInline):
    model = SourceItem
    fields = ("created_at", "name", "ingested", "document", "reason")
    readonly_fields = fields


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    """Watched folders and feeds (manage.py watch adds them): what each ingested and skipped, and
    why its last look failed."""

    list_display = ("location", "kind", "knowledge_base", "interval", "enabled", "checked_at", "error")
    list_filter = ("kind", "enabled")
    readonly_fields = ("checked_at", "error", "created_at")
    inlines = [SourceItemInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Source]:
        visible = access.knowledge_bases_for(request.user)
        return super().get_queryset(request).filter(knowledge_base__in=visible).select_related("knowledge_base")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser  # a folder on the workers' machine is the operator's to name

    def has_change_permission(self, request: HttpRequest, obj: Source | None = None) -> bool:
        return request.user.is_superuser
