from django.contrib import admin, messages
from django.forms import ModelForm
from django.http import HttpRequest

from stt_models.models import SpeechModel
from stt_models.probes import check_model


@admin.register(SpeechModel)
class SpeechModelAdmin(admin.ModelAdmin):
    list_display = ("name", "provider", "model", "device", "compute_type", "is_default", "check_error", "checked_at")
    list_filter = ("provider", "device", "is_default")
    search_fields = ("name", "model", "description")
    # The provider's own fields before the shared ones (declared on RegisteredModel, they would come first).
    fields = ("provider", "name", "model", "base_url", "api_key_env",
              "device", "compute_type", "options",
              "is_default", "description", "check_error", "checked_at", "created_at", "updated_at")  # fmt: skip
    readonly_fields = ("check_error", "checked_at", "created_at", "updated_at")

    def save_model(self, request: HttpRequest, obj: SpeechModel, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        problem = check_model(obj)
        if problem:
            self.message_user(request, f"{obj.name}: {problem}", messages.WARNING)
