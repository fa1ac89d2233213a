"""The Celery application. Configuration lives in settings.py under the CELERY_ prefix."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.settings")


class App(Celery):
    """Celery that starts the embedded Redis (when the settings use it) before its first broker
    connection, rather than when the settings are imported (settings/embedded.py)."""

    def _connection(self, url, **kwargs):  # noqa: ANN001 - Celery's own signature
        from settings import embedded  # noqa: PLC0415 - the embedded services start on the first broker connection, not at import

        embedded.ensure_configured_redis()
        return super()._connection(url, **kwargs)


app = App("knowledge_media")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
