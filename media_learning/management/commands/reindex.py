"""manage.py reindex [--knowledge NAME] [--since 2d] [--all]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from knowledge import embeddings
from knowledge.models import Document, Status
from knowledge.reindex import reindex
from knowledge.selection import SelectionError, select_documents


class Command(BaseCommand):
    help = "Re-embed the paragraphs of SUCCESS documents with the current EMBEDDING_MODEL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--knowledge", default="", help="only this knowledge base")
        parser.add_argument("--since", default="", help="only documents created since (ISO date/time, or 6h, 2d)")
        parser.add_argument("--all", action="store_true", help="also documents already embedded with the model")

    def handle(self, *args: str, **opts: object) -> None:
        model = embeddings.model_name()
        try:
            docs = select_documents([Status.SUCCESS], knowledge=opts["knowledge"], since=opts["since"])
        except SelectionError as exc:
            raise CommandError(str(exc))
        if not opts["all"]:
            docs = docs.filter(paragraphs__isnull=False).exclude(paragraphs__embedding_model=model).distinct()

        def show(document: Document, count: int) -> None:
            self.stdout.write(f"document {document.pk}: {count} paragraph(s) embedded with {model}")

        total = reindex(docs, model, on_document=show)
        self.stdout.write(f"re-embedded {total} paragraph(s)")
