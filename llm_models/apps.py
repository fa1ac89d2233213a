from django.apps import AppConfig


class LlmModelsConfig(AppConfig):
    name = "llm_models"
    verbose_name = "Language models"
