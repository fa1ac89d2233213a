"""A background thread beside each running document: it keeps the heartbeat fresh whatever the
main thread is doing (a long whisper segment, a slow LLM request), so the reaper and redelivered
tasks can tell a live run from a dead one; and it enforces the time limit, which scales with the
media's duration.

When the limit passes, the document is failed with the reason at once; the main thread gets a
``TimeLimitExceeded`` the next time it runs Python code; and if it is stuck inside native code
(a hung decoder, a socket that never answers) for ``TASK_KILL_GRACE`` more seconds, the process
kills itself. Under the prefork pool Celery then replaces the child; the task's message comes
back but finds the document already FAILURE.
"""

from __future__ import annotations

import contextvars
import ctypes
import logging
import os
import signal
import threading
import time

from django.conf import settings
from django.db import DatabaseError, connection

from knowledge import transitions

log = logging.getLogger(__name__)


class TimeLimitExceeded(BaseException):  # BaseException: no "except Exception" on the way swallows it
    """Raised in the processing thread when the document's time limit has passed."""


def time_limit(duration: float | None) -> float:
    """Seconds a document may take: TASK_TIME_LIMIT_BASE plus TASK_TIME_LIMIT_FACTOR x its
    duration, at most TASK_TIME_LIMIT_MAX (keep that under the broker's visibility timeout)."""
    limit = settings.TASK_TIME_LIMIT_BASE + settings.TASK_TIME_LIMIT_FACTOR * max(0.0, duration or 0.0)
    return min(limit, settings.TASK_TIME_LIMIT_MAX)


def _raise_in(thread_id: int, exc: type[BaseException]) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exc))


class Heartbeat:
    def __init__(self, document_id: int, task_id: str, every: float | None = None) -> None:
        self.document_id, self.task_id = document_id, task_id
        self.every = every if every is not None else settings.HEARTBEAT_SECONDS
        self.started = time.monotonic()
        self.extra = 0.0  # seconds allowed beyond the media's limit (a download first)
        self.limit = time_limit(None)  # until the media's duration is known
        self.duration: float | None = None
        self.expired = False
        self._main = threading.get_ident()
        self._stop = threading.Event()
        context = contextvars.copy_context()  # keep the log fields (document, attempt)
        self._thread = threading.Thread(target=context.run, args=(self._loop,), daemon=True, name="heartbeat")

    def set_duration(self, duration: float | None) -> None:
        self.duration = duration
        self.limit = time_limit(duration) + self.extra

    def allow(self, seconds: float) -> None:
        """Add ``seconds`` to the limit, for work before the media (its download)."""
        self.extra += seconds
        self.limit += seconds

    def _loop(self) -> None:
        try:
            while not self._stop.wait(min(self.every, 1.0) if self.expired else self.every):
                if time.monotonic() - self.started > self.limit:
                    self._expire()
                    return
                try:
                    if not transitions.beat(self.document_id, self.task_id):
                        return  # no longer ours (finished, cancelled, taken over)
                except DatabaseError as exc:  # a database hiccup: try again next beat
                    log.warning("heartbeat failed: %s", exc)
        finally:
            connection.close()  # this thread's own database connection

    def _expire(self) -> None:
        self.expired = True
        media = f"{self.duration / 60:.1f} min of media" if self.duration else "media of unknown length"
        reason = (f"stopped after {time.monotonic() - self.started:.0f} s: over the time limit of {self.limit:.0f} s "
                  f"for {media} (a hung decoder or service?)")  # fmt: skip
        log.error(reason)
        try:
            transitions.fail(self.document_id, reason, self.task_id)
        except DatabaseError as exc:
            log.error("could not record the time limit: %s", exc)
        _raise_in(self._main, TimeLimitExceeded)
        if self._stop.wait(settings.TASK_KILL_GRACE):
            return  # the processing thread stopped
        if settings.TASK_KILL_STUCK:
            log.error("still stuck %.0f s later, inside native code: killing this worker process",
                      settings.TASK_KILL_GRACE)  # fmt: skip
            for handler in logging.getLogger().handlers:
                handler.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.every + 10)
