"""manage.py reprocess_failed [--knowledge NAME] [--dry-run]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from knowledge.ingest import reprocess
from knowledge.models import Document, KnowledgeBase, Status


class Command(BaseCommand):
    help = "Queue FAILURE documents (optionally REVOKED ones too) for processing again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--knowledge", default="", help="only this knowledge base")
        parser.add_argument("--include-revoked", action="store_true", help="also cancelled documents")
        parser.add_argument("--dry-run", action="store_true", help="list what would be queued")

    def handle(self, *args: str, **opts: object) -> None:
        statuses = [Status.FAILURE] + ([Status.REVOKED] if opts["include_revoked"] else [])
        docs = Document.objects.filter(status__in=statuses).order_by("id")
        if opts["knowledge"]:
            kb = KnowledgeBase.objects.filter(name=opts["knowledge"]).first()
            if kb is None:
                raise CommandError(f"no knowledge base named {opts['knowledge']!r}")
            docs = docs.filter(knowledge_base=kb)
        queued = 0
        for doc in docs:
            if opts["dry_run"]:
                self.stdout.write(f"would reprocess document {doc.pk} ({doc.status}): {doc.name}: {doc.error}")
            elif reprocess(doc):
                queued += 1
                self.stdout.write(f"queued document {doc.pk}: {doc.name}")
        verb = "would queue" if opts["dry_run"] else "queued"
        count = docs.count() if opts["dry_run"] else queued
        self.stdout.write(f"{verb} {count} document(s)")
