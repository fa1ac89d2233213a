"""GET /api/health/: is the database, the broker and at least one worker reachable?"""

from __future__ import annotations

import re
import time

from django.db import connection
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from settings.celery import app as celery_app

_CREDENTIALS = re.compile(r"(\w+://)[^@/\s]*@")


def _redact(text: str) -> str:
    """Health details are public: drop any user:password from URLs in error messages."""
    return _CREDENTIALS.sub(r"\1***@", text)


def _timed(check) -> dict:  # noqa: ANN001
    started = time.monotonic()
    try:
        detail = check()
        ok = True
    except Exception as exc:  # noqa: BLE001 - a health check reports, it does not raise
        detail, ok = _redact(" ".join(f"{type(exc).__name__}: {exc}".split()))[:200], False
    result = {"ok": ok, "ms": round((time.monotonic() - started) * 1000, 1)}
    if detail:
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


def _worker() -> str:
    replies = celery_app.control.ping(timeout=1.0, limit=1)
    if not replies:
        raise RuntimeError("no worker answered")
    return f"{len(replies)} worker(s)"


class Health(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(responses={200: dict, 503: dict})
    def get(self, request: Request) -> Response:
        body = {"database": _timed(_database), "broker": _timed(_broker), "worker": _timed(_worker)}
        healthy = all(part["ok"] for part in body.values())
        body["status"] = "ok" if healthy else "degraded"
        return Response(body, status=200 if healthy else 503)
