"""manage.py import_kb ARCHIVE.zip [--owner USER] [--name NAME]: a new knowledge base from an
``export_kb`` archive (refused with the reason, creating nothing, when it is corrupted, not an
archive, or from a newer version)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from media_learning import archive


class Command(BaseCommand):
    help = "Import a knowledge base from an export_kb archive."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive")
        parser.add_argument("--owner", default="", help="the new knowledge base's owner (user name)")
        parser.add_argument("--name", default="", help="its name (default: as exported; made unique)")

    def handle(self, *args: str, **opts: object) -> None:
        owner = None
        if opts["owner"]:
            owner = get_user_model().objects.filter(username=opts["owner"]).first()
            if owner is None:
                raise CommandError(f"no user named {opts['owner']!r}")
        try:
            done = archive.import_archive(str(opts["archive"]), owner=owner, name=str(opts["name"]))
        except (archive.ArchiveError, OSError) as exc:
            raise CommandError(f"not imported: {exc}") from None
        summary = ", ".join(f"{n} {what}" for what, n in done.counts.items())
        again = " (paragraphs embedded again with this installation's model)" if done.reembedded else ""
        self.stdout.write(f"imported knowledge base {done.knowledge_base.name!r} "
                          f"(id {done.knowledge_base.pk}): {summary}{again}")  # fmt: skip
