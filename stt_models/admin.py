from django.contrib import admin

from stt_models.models import SpeechModel


@admin.register(SpeechModel)
class SpeechModelAdmin(admin.ModelAdmin):
    list_display = ("name", "provider", "model", "device", "compute_type", "is_default", "updated_at")
    list_filter = ("provider", "device", "is_default")
    search_fields = ("name", "model", "description")
