from django.apps import AppConfig


class MediaLearningConfig(AppConfig):
    name = "media_learning"
    verbose_name = "Media learning"

    def ready(self) -> None:
        from media_learning.pipeline import fanout  # noqa: F401 - connects its post_delete receiver
