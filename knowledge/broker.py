"""What the broker and the workers hold: queue depth and the task ids still alive somewhere.
The reaper uses it to tell a queued document from one whose message was lost; health reports
the depth."""

from __future__ import annotations

import json
import logging

from knowledge.queue import work_queues
from settings.celery import app

log = logging.getLogger(__name__)


def _app():
    return app


def queue_names() -> list[str]:
    return work_queues()


def _depth(conn, name: str) -> int:  # noqa: ANN001 - a kombu connection
    channel = conn.channel()  # a failed passive declare closes its channel (AMQP): use a fresh one
    try:
        return channel.queue_declare(queue=name, passive=True).message_count
    except Exception as exc:
        if type(exc).__name__ == "NotFound" or "NOT_FOUND" in str(exc):
            return 0  # never declared: nothing was ever queued there
        raise
    finally:
        try:
            channel.close()
        except Exception:  # noqa: BLE001 - already closed by the broker
            pass


def queue_depths() -> dict[str, int] | None:
    """Messages waiting in each work queue (None when the broker cannot be asked)."""
    try:
        with _app().connection_for_read() as conn:
            return {name: _depth(conn, name) for name in queue_names()}
    except Exception as exc:  # noqa: BLE001 - any broker trouble means "unknown", as health reports it
        log.warning("cannot read the queue depth: %s", exc)
        return None


def queue_depth() -> int | None:
    """Messages waiting in the work queues altogether (None when the broker cannot be asked)."""
    depths = queue_depths()
    return None if depths is None else sum(depths.values())


def _message_id(raw: bytes | str) -> str | None:
    try:
        payload = json.loads(raw)
        return payload["headers"]["id"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def queued_task_ids() -> set[str] | None:
    """Task ids waiting in the queues, for Redis brokers; None for brokers whose queues cannot be
    browsed (RabbitMQ). Delivered but unacknowledged messages do not count: those of a live worker
    show in ``worker_task_ids``, and those of a dead one come back only after the visibility
    timeout (hours), which is what the reaper is there to shorten."""
    with _app().connection_for_read() as conn:
        client = getattr(conn.default_channel, "client", None)
        if client is None or not hasattr(client, "lrange"):
            return None
        raw = [m for name in queue_names() for m in client.lrange(name, 0, -1)]
    return {task_id for task_id in map(_message_id, raw) if task_id}


def worker_task_ids(timeout: float = 1.0) -> set[str]:
    """Task ids the live workers are running, have reserved, or hold for a later retry."""
    inspect = _app().control.inspect(timeout=timeout)
    ids: set[str] = set()
    for method in (inspect.active, inspect.reserved, inspect.scheduled):
        for tasks in (method() or {}).values():
            for task in tasks:
                task_id = task.get("id") or (task.get("request") or {}).get("id")
                if task_id:
                    ids.add(task_id)
    return ids


def worker_count(timeout: float = 1.0) -> int:
    return len(_app().control.ping(timeout=timeout) or [])
