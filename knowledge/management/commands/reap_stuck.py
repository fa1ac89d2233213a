"""manage.py reap_stuck [--dry-run] [--started-after S] [--pending-after S]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from knowledge.reaper import reap


class Command(BaseCommand):
    help = (
        "Re-enqueue documents whose task was lost (STARTED without a heartbeat, PENDING with no task in any "
        "queue or worker), or fail those whose workers keep dying. Celery beat runs the same every REAPER_INTERVAL."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="list what would be done")
        parser.add_argument("--started-after", type=float, help="seconds without heartbeat (REAP_STARTED_AFTER)")
        parser.add_argument("--pending-after", type=float, help="seconds queued (REAP_PENDING_AFTER)")

    def handle(self, *args: str, **opts: object) -> None:
        done = reap(dry_run=bool(opts["dry_run"]), started_after=opts["started_after"],
                    pending_after=opts["pending_after"])  # fmt: skip
        verb = "would be" if opts["dry_run"] else ""
        for item in done:
            self.stdout.write(f"document {item.document_id} {verb + ' ' if verb else ''}{item.action}: {item.reason}")
        self.stdout.write(f"{len(done)} document(s) {verb or 'reaped'}".rstrip())
