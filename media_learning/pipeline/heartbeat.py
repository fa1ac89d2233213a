"""A background thread that keeps a running document's heartbeat fresh, whatever the main thread
is doing (a long whisper segment, a slow LLM request), so that the reaper and redelivered tasks
can tell a live run from a dead one."""

from __future__ import annotations

import contextvars
import logging
import threading

from django.conf import settings
from django.db import DatabaseError, connection

from knowledge import status

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, document_id: int, task_id: str, every: float | None = None) -> None:
        self.document_id, self.task_id = document_id, task_id
        self.every = every if every is not None else settings.HEARTBEAT_SECONDS
        self._stop = threading.Event()
        context = contextvars.copy_context()  # keep the log fields (document, attempt)
        self._thread = threading.Thread(target=context.run, args=(self._loop,), daemon=True, name="heartbeat")

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self.every):
                try:
                    if not status.beat(self.document_id, self.task_id):
                        return  # no longer ours (finished, cancelled, taken over)
                except DatabaseError as exc:  # a database hiccup: try again next beat
                    log.warning("heartbeat failed: %s", exc)
        finally:
            connection.close()  # this thread's own database connection

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.every + 10)
