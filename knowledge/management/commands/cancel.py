"""manage.py cancel [ID ...] [--knowledge NAME [--owner USER]] [--since 1h] [--dry-run]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from knowledge import selection, transitions
from knowledge.models import Status


class Command(BaseCommand):
    help = ("Cancel documents, as the API's cancel does: queued ones become REVOKED at once, running ones "
            "stop at the next progress check and become REVOKED.")  # fmt: skip

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="*", type=int, help="document ids (default: every queued or running one)")
        selection.add_arguments(parser)
        parser.add_argument("--dry-run", action="store_true", help="list what would be cancelled")

    def handle(self, *args: str, **opts: object) -> None:
        if not (opts["ids"] or opts["knowledge"] or opts["since"]):
            raise CommandError("name document ids, or select with --knowledge and/or --since")
        docs = selection.documents_for_command([Status.PENDING, Status.STARTED], opts, ids=opts["ids"])
        count = 0
        for doc in docs:
            if opts["dry_run"]:
                self.stdout.write(f"would cancel document {doc.pk} ({doc.status}): {doc.name}")
                count += 1
            elif (new := transitions.cancel(doc.pk)) is not None:
                self.stdout.write(f"document {doc.pk}: {new}")
                count += 1
        self.stdout.write(f"{'would cancel' if opts['dry_run'] else 'cancelled'} {count} document(s)")
