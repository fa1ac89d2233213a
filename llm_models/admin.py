from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from llm_models.models import LanguageModel
from llm_models.probes import check_model, try_model


@admin.register(LanguageModel)
class LanguageModelAdmin(admin.ModelAdmin):
    list_display = ("name", "provider", "model", "base_url", "context_window", "is_default", "check_error",
                    "checked_at")  # fmt: skip
    list_filter = ("provider", "is_default")
    search_fields = ("name", "model", "description")
    # The provider's own fields before the shared ones (declared on RegisteredModel, they would come first).
    fields = ("provider", "name", "model", "base_url", "api_key_env",
              "timeout", "max_tokens", "context_window", "temperature", "options",
              "is_default", "description", "check_error", "checked_at", "created_at", "updated_at")  # fmt: skip
    readonly_fields = ("check_error", "checked_at", "created_at", "updated_at")
    actions = ["test_models"]

    def save_model(self, request: HttpRequest, obj: LanguageModel, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        problem = check_model(obj)
        if problem:
            self.message_user(request, f"{obj.name}: {problem}", messages.WARNING)

    @admin.action(description=gettext_lazy("Send a test request to the selected models"))
    def test_models(self, request: HttpRequest, queryset: QuerySet[LanguageModel]) -> None:
        for model in queryset:
            outcome = try_model(model)
            if outcome["ok"]:
                self.message_user(request, f"{model.name}: answered {outcome['reply']!r} in {outcome['seconds']} s")
            else:
                self.message_user(request, f"{model.name}: {outcome['error']}", messages.ERROR)
