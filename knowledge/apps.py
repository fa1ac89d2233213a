from django.apps import AppConfig
from django.db.backends.signals import connection_created


class KnowledgeConfig(AppConfig):
    name = "knowledge"
    verbose_name = "Knowledge"

    def ready(self) -> None:
        from knowledge import retention  # noqa: F401, PLC0415 - connects the signal that deletes originals; in ready(): the app registry is loaded
        from knowledge.finish_notice import announce  # noqa: PLC0415 - as the line above
        from knowledge.signals import document_finished  # noqa: PLC0415 - as the line above
        from knowledge.vector_index import configure_session  # noqa: PLC0415 - as the line above

        connection_created.connect(configure_session, dispatch_uid="knowledge.vector_index.configure_session")
        document_finished.connect(announce, dispatch_uid="knowledge.finish_notice.announce")
