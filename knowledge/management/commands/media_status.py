"""manage.py media_status [--json]"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandParser

from knowledge.stats import media_status


class Command(BaseCommand):
    help = "Documents by status and stage, the oldest queued one, failures by error type, queue depth, workers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: str, **opts: object) -> None:
        report = media_status()
        if opts["json"]:
            self.stdout.write(json.dumps(report, indent=2))
            return
        self.stdout.write("status:   " + ", ".join(f"{k} {v}" for k, v in report["by_status"].items()))
        stages = ", ".join(f"{k} {v}" for k, v in report["started_by_stage"].items()) or "-"
        self.stdout.write(f"running:  {stages}")
        oldest = report["oldest_pending_seconds"]
        self.stdout.write(f"oldest pending: {'-' if oldest is None else f'{oldest:.0f} s'}")
        failures = ", ".join(f"{k} {v}" for k, v in report["failures_by_error_type"].items()) or "-"
        self.stdout.write(f"failures by error type: {failures}")
        self.stdout.write(f"stale heartbeats: {report['stale_heartbeats']}")
        depth = report["queue_depth"]
        self.stdout.write(f"queue depth: {'unknown' if depth is None else depth}; workers: {report['workers']}")
