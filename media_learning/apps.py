from django.apps import AppConfig


class MediaLearningConfig(AppConfig):
    name = "media_learning"
    verbose_name = "Media learning"
