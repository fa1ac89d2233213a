"""``manage.py compile_translations``: knowledge.translations for every LOCALE_PATHS folder."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from knowledge.translations import compile_all


class Command(BaseCommand):
    help = "Compile the interface translations (locale/*.po) to .mo files (no GNU gettext needed)."

    def handle(self, *args: str, **opts: object) -> None:
        written = [mo for folder in settings.LOCALE_PATHS for mo in compile_all(Path(folder))]
        self.stdout.write(f"compiled {len(written)} translation catalog(s)" if written else "translations up to date")
