"""GET /api/health/. Anyone (a load balancer) gets a cheap liveness answer: ``{"status": "ok",
"ready": ...}`` when this web process reaches the database, 503 ``degraded`` when it does not;
``ready`` is true once the workers and the web processes answer at full speed (their models
loaded: ``is_ready``). Staff users, and
monitors that send ``Authorization: Bearer <HEALTH_TOKEN>``, get the details: the database (with
pgvector), the broker and its queue depth, the workers with the models they hold (a broadcast
that waits up to a second), 503 when any is missing. The details are computed at most once per
HEALTH_CACHE_SECONDS across all web processes (Django's cache), so no caller can make the
service ping every worker on each request."""

from __future__ import annotations

import hmac
import re
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from knowledge import broker, search
from settings.celery import app as celery_app

_CREDENTIALS = re.compile(r"(\w+://)[^@/\s]*@")


def _redact(text: str) -> str:
    """Health details go to monitors and dashboards: drop any user:password from URLs in errors."""
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


def _liveness() -> dict:
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
    return {"status": "ok"}


def details() -> dict:
    """Every part's state, timing and reason (credentials redacted)."""
    body = {"database": _timed(_database), "broker": _timed(_broker)}
    body["queue"] = _timed(_queue)
    workers = _timed(_workers)
    body["workers"] = {"ok": workers.pop("ok"), "ms": workers.pop("ms")}
    if "detail" in workers:
        body["workers"]["detail"] = workers.pop("detail")
    body["workers"].update(count=len(workers), held=workers)
    body["status"] = "ok" if all(part["ok"] for part in body.values()) else "degraded"
    body["ready"] = is_ready(body)
    return body


def is_ready(body: dict) -> bool:
    """Everything answers at full speed: the parts are ok, every worker that answered holds the
    models of its role (its pool processes have warmed up), and this web process has loaded the
    search models (a web process takes requests only once it has, settings/gunicorn.py)."""
    held = body["workers"].get("held", {}).values()
    return body["status"] == "ok" and all(h.get("warm", True) for h in held) and search.warm()


CACHE_KEY = "health-details"


def cached_details(wait: bool = True) -> dict | None:
    """The details, computed at most once per HEALTH_CACHE_SECONDS across the web processes.
    Without ``wait`` (anonymous callers) only one caller at a time computes them; the others
    get None rather than a second broadcast to the workers."""
    try:
        body = cache.get(CACHE_KEY)
        if body is None and not wait and not cache.add(f"{CACHE_KEY}:computing", 1, 10):
            return None
    except Exception:  # noqa: BLE001 - the cache is the broker's Redis, which may be what is down
        body = None
    if body is None:
        body = details()
        try:
            cache.set(CACHE_KEY, body, settings.HEALTH_CACHE_SECONDS)
            cache.delete(f"{CACHE_KEY}:computing")
        except Exception:  # noqa: BLE001 - see above
            pass
    return body


def may_see_details(request: Request) -> bool:
    if getattr(request.user, "is_staff", False):
        return True
    token = settings.HEALTH_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return bool(token) and hmac.compare_digest(given.encode(), token.encode())


class Health(APIView):
    """Liveness for anyone; the details for staff and HEALTH_TOKEN holders (see the module)."""

    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(responses={200: dict, 503: dict})
    def get(self, request: Request) -> Response:
        if may_see_details(request):
            body = cached_details()
        else:
            try:
                body = _liveness()
                body["ready"] = bool((cached_details(wait=False) or {}).get("ready"))
            except Exception:  # noqa: BLE001 - a health check reports, it does not raise
                body = {"status": "degraded", "ready": False}
        return Response(body, status=200 if body["status"] == "ok" else 503)
