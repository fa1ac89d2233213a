"""manage.py embedded stop: stop the embedded PostgreSQL and Redis (data stays in var/)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections

from settings import embedded


class Command(BaseCommand):
    help = "Stop the embedded PostgreSQL and Redis started for the laptop default."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["stop"])

    def handle(self, *args: str, **opts: object) -> None:
        connections.close_all()
        embedded.stop_services(settings.VAR_DIR, postgres=settings.EMBEDDED_POSTGRES, redis_=settings.EMBEDDED_REDIS)
        self.stdout.write("embedded services stopped")
