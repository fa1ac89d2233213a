"""manage.py worker --role ROLE: a Celery worker for one role's queues (docs/deployment.md).

    manage.py worker --role transcribe --gpu 0   # a GPU worker pinned to GPU 0
    manage.py worker --role llm --concurrency 8  # waits on an LLM API: many at once
    manage.py worker --role index
    manage.py worker --role default --beat       # webhooks and housekeeping; one beat per fleet
    manage.py worker                             # every queue (one machine)

Anything after ``--`` goes to ``celery worker`` unchanged.
"""

from __future__ import annotations

import os
import socket
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from knowledge.queue import role_queues


def worker_command(role: str, concurrency: int, beat: bool, extra: list[str]) -> list[str]:
    """The ``celery worker`` command line for a role."""
    cmd = [sys.executable, "-m", "celery", "-A", "settings", "worker", "--loglevel", "INFO",
           "-Q", ",".join(role_queues(role)), "--concurrency", str(concurrency)]  # fmt: skip
    if not {"-n", "--hostname"} & set(extra):  # several workers on one machine need distinct names
        cmd += ["--hostname", f"{role}-{os.getpid()}@{socket.gethostname()}"]
    if beat:
        cmd += ["-B", "--schedule", str(settings.VAR_DIR / "celerybeat-schedule")]
    return cmd + extra


class Command(BaseCommand):
    help = "Run a Celery worker for one role: transcribe, diarize, llm, index, default, or all."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--role", choices=[*settings.CELERY_ROLE_QUEUES, "all"], default="all")
        parser.add_argument("--concurrency", type=int, default=1)
        parser.add_argument("--gpu", default="", help="pin to these GPUs (CUDA_VISIBLE_DEVICES), e.g. 0 or 2,3")
        parser.add_argument("--beat", action="store_true", help="also run Celery beat (once per deployment)")
        parser.add_argument("--print", action="store_true", help="print the command instead of running it")
        parser.add_argument("celery_args", nargs="*", help="after --: passed to celery worker")

    def handle(self, *args: str, **opts: object) -> None:
        cmd = worker_command(str(opts["role"]), int(opts["concurrency"]), bool(opts["beat"]),
                             list(opts["celery_args"]))  # fmt: skip
        env = {**os.environ, "MEDIA_WORKER_ROLE": str(opts["role"])}  # which models it warms (warmup.py)
        if opts["gpu"]:
            if not all(part.strip().isdigit() for part in str(opts["gpu"]).split(",")):
                raise CommandError("--gpu takes GPU numbers, e.g. 0 or 2,3")
            env["CUDA_VISIBLE_DEVICES"] = str(opts["gpu"])
        if opts["print"]:
            prefix = f"CUDA_VISIBLE_DEVICES={env['CUDA_VISIBLE_DEVICES']} " if opts["gpu"] else ""
            self.stdout.write(prefix + " ".join(cmd))
            return
        os.execvpe(cmd[0], cmd, env)
