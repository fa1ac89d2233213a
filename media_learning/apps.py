from django.apps import AppConfig


class MediaLearningConfig(AppConfig):
    name = "media_learning"
    verbose_name = "Media learning"

    def ready(self) -> None:
        from knowledge.signals import document_finished
        from media_learning import dispatch
        from media_learning.pipeline import fanout  # noqa: F401 - connects its post_delete receiver

        document_finished.connect(dispatch.on_document_finished, dispatch_uid="media_learning.webhook")
