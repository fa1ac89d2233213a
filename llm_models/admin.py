from django.contrib import admin

from llm_models.models import LanguageModel


@admin.register(LanguageModel)
class LanguageModelAdmin(admin.ModelAdmin):
    list_display = ("name", "provider", "model", "base_url", "is_default")
    search_fields = ("name", "model")
