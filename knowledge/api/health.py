"""GET /api/health/: the database (with pgvector), the broker and its queue depth, and the
workers with the models they hold; 503 when any of them is missing."""

from __future__ import annotations

import re
import time

from django.db import connection
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from knowledge import broker
from settings.celery import app as celery_app

_CREDENTIALS = re.compile(r"(\w+://)[^@/\s]*@")


def _redact(text: str) -> str:
    """Health details are public: drop any user:password from URLs in error messages."""
    return _CREDENTIALS.sub(r"\1***@", text)


def _timed(check) -> dict:  # noqa: ANN001
    """Run one check: ``{ok, ms}`` plus its ``detail`` (a string) or its fields (a dict)."""
    started = time.monotonic()
    try:
        detail = check()
        ok = True
    except Exception as exc:  # noqa: BLE001 - a health check reports, it does not raise
        detail, ok = _redact(" ".join(f"{type(exc).__name__}: {exc}".split()))[:200], False
    result = {"ok": ok, "ms": round((time.monotonic() - started) * 1000, 1)}
    if isinstance(detail, dict):
        result.update(detail)
    elif detail:
        result["detail"] = detail
    return result


def _database() -> str:
    with connection.cursor() as cur:
        cur.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cur.fetchone()
    if row is None:
        raise RuntimeError("pgvector extension missing")
    return f"pgvector {row[0]}"


def _broker() -> str:
    with celery_app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return ""


def _workers() -> dict:
    """Every worker that answers within a second, with the models it holds."""
    replies = celery_app.control.broadcast("stt_loaded", reply=True, timeout=1.0) or []
    workers = {name: held for reply in replies for name, held in reply.items()}
    if not workers:
        raise RuntimeError("no worker answered")
    return workers


def _queue() -> dict:
    depths = broker.queue_depths()
    if depths is None:
        raise RuntimeError("the broker did not report the queue depth")
    return {"queues": depths, "depth": sum(depths.values())}


class Health(APIView):
    """Open to load balancers, which get only ``status`` (200 ok, 503 degraded); signed-in users
    also get each part's state, timing and reason (credentials redacted)."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: dict, 503: dict})
    def get(self, request: Request) -> Response:
        body = {"database": _timed(_database), "broker": _timed(_broker)}
        body["queue"] = _timed(_queue)
        workers = _timed(_workers)
        body["workers"] = {"ok": workers.pop("ok"), "ms": workers.pop("ms")}
        if "detail" in workers:
            body["workers"]["detail"] = workers.pop("detail")
        body["workers"].update(count=len(workers), held=workers)
        healthy = all(part["ok"] for part in body.values())
        body["status"] = "ok" if healthy else "degraded"
        if not request.user.is_authenticated:
            body = {"status": body["status"]}
        return Response(body, status=200 if healthy else 503)
