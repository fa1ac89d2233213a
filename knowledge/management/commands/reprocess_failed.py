"""manage.py reprocess_failed [--knowledge NAME [--owner USER]] [--since 2d] [--error-type TYPE] [--include-revoked]
[--dry-run]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from knowledge import selection
from knowledge.ingest import reprocess
from knowledge.models import Status


class Command(BaseCommand):
    help = "Queue FAILURE documents (optionally REVOKED ones too) for processing again."

    def add_arguments(self, parser: CommandParser) -> None:
        selection.add_arguments(parser)
        parser.add_argument("--error-type", default="", help="only those whose last run failed with this type, "
                            "e.g. MediaError, SttRefused, WorkerLost (see media_status)")  # fmt: skip
        parser.add_argument("--include-revoked", action="store_true", help="also cancelled documents")
        parser.add_argument("--dry-run", action="store_true", help="list what would be queued")

    def handle(self, *args: str, **opts: object) -> None:
        statuses = [Status.FAILURE] + ([Status.REVOKED] if opts["include_revoked"] else [])
        docs = selection.documents_for_command(statuses, opts, error_type=opts["error_type"])
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
