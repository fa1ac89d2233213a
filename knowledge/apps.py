from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "knowledge"
    verbose_name = "Knowledge"

    def ready(self) -> None:
        from knowledge import retention  # noqa: F401, PLC0415 - connects the signal that deletes originals; in ready(): the app registry is loaded
