"""manage.py export_kb --knowledge NAME [--owner USER] [--media] OUT.zip: the knowledge base's finished
documents, paragraphs with their times and vectors, summaries, transcripts, runs and revisions
(and the original files with --media) as one archive that ``import_kb`` reads elsewhere."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from knowledge.selection import SelectionError, knowledge_base_named
from media_learning import archive


class Command(BaseCommand):
    help = "Export a knowledge base to one archive (media optional) for import_kb on another installation."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("out", help="the archive to write (.zip)")
        parser.add_argument("--knowledge", required=True, help="knowledge base name")
        parser.add_argument("--owner", default="", help="its owner, when several share the name")
        parser.add_argument("--media", action="store_true", help="include the original media files")

    def handle(self, *args: str, **opts: object) -> None:
        try:
            kb = knowledge_base_named(str(opts["knowledge"]), str(opts["owner"]))
        except SelectionError as exc:
            raise CommandError(str(exc)) from None
        out = Path(str(opts["out"]))
        partial = out.with_name(out.name + ".partial")
        with open(partial, "wb") as fh:
            counts = archive.export(kb, fh, media=bool(opts["media"]))
        partial.replace(out)
        summary = ", ".join(f"{n} {what}" for what, n in counts.items())
        self.stdout.write(f"exported knowledge base {kb.name!r} to {out}: {summary}")
