"""``ENGINE: settings.embedded_postgres``: PostgreSQL whose socket is known once the embedded
server runs; the first connection of a process (or ``manage.py dbshell``) starts it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.backends.postgresql import base, client

from settings import embedded


class DatabaseClient(client.DatabaseClient):
    def runshell(self, parameters: list[str]) -> None:
        self.connection.ensure_server()
        super().runshell(parameters)


class DatabaseWrapper(base.DatabaseWrapper):
    client_class = DatabaseClient

    def ensure_server(self) -> None:
        if not self.settings_dict.get("HOST"):  # only where it listens: the test run's NAME stays
            server = embedded.ensure_postgres(settings.VAR_DIR)
            self.settings_dict.update(HOST=server["HOST"], PORT=server["PORT"])

    def get_connection_params(self) -> dict[str, Any]:
        self.ensure_server()
        return super().get_connection_params()
