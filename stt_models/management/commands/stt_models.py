"""manage.py stt_models warmup [--model NAME] | unload [--worker HOSTNAME]..."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from settings.celery import app


class Command(BaseCommand):
    help = "Load speech models into the running workers, or unload them to free (GPU) memory."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["warmup", "unload"])
        parser.add_argument("--model", default="", help="warmup: speech model name (default: the default model)")
        parser.add_argument("--worker", action="append", default=None, help="only this worker (repeatable)")
        parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for replies")

    def handle(self, *args: str, **opts: object) -> None:
        command = "stt_warmup" if opts["action"] == "warmup" else "stt_unload"
        arguments = {"model": opts["model"]} if command == "stt_warmup" else {}
        replies = app.control.broadcast(command, arguments=arguments, destination=opts["worker"], reply=True,
                                        timeout=float(opts["timeout"]))  # fmt: skip
        if not replies:
            raise CommandError("no worker answered")
        for reply in replies:
            for worker, answer in reply.items():
                self.stdout.write(f"{worker}: {answer.get('ok') or answer.get('error')}")
