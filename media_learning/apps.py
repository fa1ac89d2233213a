from django.apps import AppConfig


class MediaLearningConfig(AppConfig):
    name = "media_learning"
    verbose_name = "Media learning"

    def ready(self) -> None:
        from knowledge.signals import document_finished, document_queued  # noqa: PLC0415 - in ready(): the app registry is loaded
        from media_learning import dispatch  # noqa: PLC0415 - in ready(): the app registry is loaded
        from media_learning.pipeline import fanout  # noqa: F401, PLC0415 - connects its post_delete receiver; in ready(): the app registry is loaded

        document_finished.connect(dispatch.on_document_finished, dispatch_uid="media_learning.webhook")
        document_queued.connect(dispatch.on_document_queued, dispatch_uid="media_learning.process")
