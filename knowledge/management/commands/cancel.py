"""manage.py cancel [ID ...] [--knowledge NAME [--owner USER]] [--since 1h] [--dry-run]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from knowledge import transitions
from knowledge.models import Status
from knowledge.selection import SelectionError, select_documents


class Command(BaseCommand):
    help = ("Cancel documents, as the API's cancel does: queued ones become REVOKED at once, running ones "
            "stop at the next progress check and become REVOKED.")  # fmt: skip

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="*", type=int, help="document ids (default: every queued or running one)")
        parser.add_argument("--knowledge", default="", help="only this knowledge base")
        parser.add_argument(
            "--owner", default="", help="the knowledge base's owner (user name), when several share its name"
        )
        parser.add_argument("--since", default="", help="only documents created since (ISO date/time, or 6h, 2d)")
        parser.add_argument("--dry-run", action="store_true", help="list what would be cancelled")

    def handle(self, *args: str, **opts: object) -> None:
        if not (opts["ids"] or opts["knowledge"] or opts["since"]):
            raise CommandError("name document ids, or select with --knowledge and/or --since")
        try:
            docs = select_documents([Status.PENDING, Status.STARTED], ids=opts["ids"], knowledge=opts["knowledge"],
                                    owner=opts["owner"], since=opts["since"])  # fmt: skip
        except SelectionError as exc:
            raise CommandError(str(exc))
        count = 0
        for doc in docs:
            if opts["dry_run"]:
                self.stdout.write(f"would cancel document {doc.pk} ({doc.status}): {doc.name}")
                count += 1
            elif (new := transitions.cancel(doc.pk)) is not None:
                self.stdout.write(f"document {doc.pk}: {new}")
                count += 1
        self.stdout.write(f"{'would cancel' if opts['dry_run'] else 'cancelled'} {count} document(s)")
