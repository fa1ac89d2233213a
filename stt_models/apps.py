from django.apps import AppConfig


class SttModelsConfig(AppConfig):
    name = "stt_models"
    verbose_name = "Speech-to-text models"
