"""Server-sent events: the status, stage and progress of documents as they change.

- ``GET /api/knowledge/document/{id}/events/``: one document, until it is terminal.
- ``GET /api/knowledge/document/events/?id=1,2,3``: many (the web page follows all its uploads
  over this one stream: browsers open about six connections per host), until all are terminal.

Each change is ``event: status`` with the document's JSON state (its ``id`` included); a
document that is deleted, or that the user may not see, is ``event: deleted``; a comment line
every KEEPALIVE_SECONDS keeps proxies from closing an idle stream; after EVENTS_MAX_SECONDS the
stream ends with ``event: timeout`` (reconnect to go on).

A stream holds a web thread for its whole life, so streams may never take the threads the page,
the API and sign-in need: each web process serves at most EVENTS_MAX_STREAMS at once and each
user EVENTS_MAX_PER_USER across all processes. Past either the answer is 503 or 429 with
Retry-After, and a client polls the document instead (the web page does)."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from core.registry import parse_id
from knowledge import access
from knowledge.api.errors import error_body
from knowledge.api.views import document_for
from knowledge.models import TERMINAL_STATUSES, Document

log = logging.getLogger(__name__)

FIELDS = ("id", "status", "stage", "progress", "error", "warnings", "language", "detected_language", "duration",
          "updated_at")  # fmt: skip
KEEPALIVE_SECONDS = 10.0  # also how soon a stream whose client left gives its slot back
MAX_DOCUMENTS = 100  # per stream
RETRY_AFTER = 5  # seconds, when no stream can be opened now


class EventStreamRenderer(BaseRenderer):
    """Lets clients ask for text/event-stream; errors are still written as JSON."""

    media_type = "text/event-stream"
    format = "event-stream"
    charset = "utf-8"

    def render(
        self, data: object, accepted_media_type: str | None = None, renderer_context: dict | None = None
    ) -> bytes:
        return json.dumps(data).encode()


def _states(ids: list[int]) -> dict[int, dict[str, Any]]:
    rows = Document.objects.filter(pk__in=ids).values(*FIELDS, "stt_model_used__name")
    return {
        row["id"]: {
            **row,
            "stt_model_used": row.pop("stt_model_used__name"),
            "updated_at": row["updated_at"].isoformat(),
        }
        for row in rows
    }


def stream(ids: list[int], poll: float, max_seconds: float, hidden: frozenset[int] = frozenset()) -> Iterator[str]:
    """The events of ``ids`` until each is terminal or gone, or ``max_seconds`` have passed;
    ``hidden`` ones (the user may not see them) are gone from the start."""
    yield f"retry: {int(poll * 2000)}\n\n"
    last: dict[int, dict[str, Any]] = {}
    open_ids = list(dict.fromkeys(ids))
    last_sent = started = time.monotonic()
    while open_ids:
        states = _states([i for i in open_ids if i not in hidden])
        for document_id in list(open_ids):
            state = states.get(document_id)
            if state is None:
                yield f"event: deleted\ndata: {json.dumps({'id': document_id})}\n\n"
                open_ids.remove(document_id)
            elif state != last.get(document_id):
                yield f"event: status\nid: {state['updated_at']}\ndata: {json.dumps(state)}\n\n"
                last[document_id], last_sent = state, time.monotonic()
                if state["status"] in TERMINAL_STATUSES:
                    open_ids.remove(document_id)
        if not open_ids:
            return
        if time.monotonic() - last_sent > KEEPALIVE_SECONDS:
            yield ": keep-alive\n\n"
            last_sent = time.monotonic()
        if time.monotonic() - started > max_seconds:
            yield "event: timeout\ndata: {}\n\n"
            return
        time.sleep(poll)


class Slots:
    """Stream slots: this process's (a semaphore) and the user's (a counter in Django's cache,
    shared by every web process, expiring should a process die holding it)."""

    _process: threading.BoundedSemaphore | None = None
    _lock = threading.Lock()

    @classmethod
    def process(cls) -> threading.BoundedSemaphore:
        with cls._lock:
            if cls._process is None:
                cls._process = threading.BoundedSemaphore(max(1, settings.EVENTS_MAX_STREAMS))
            return cls._process

    @staticmethod
    def _user_key(user_id: int) -> str:
        return f"events-user:{user_id}"

    @classmethod
    def take_user(cls, user_id: int) -> bool:
        key = cls._user_key(user_id)
        try:
            cache.add(key, 0, timeout=settings.EVENTS_MAX_SECONDS + 60)
            if cache.incr(key) > settings.EVENTS_MAX_PER_USER:
                cache.decr(key)
                return False
        except Exception as exc:  # noqa: BLE001 - the cache (Redis) is down: limit per process only
            log.warning("stream limit per user not checked, the cache is unavailable: %s", exc)
        return True

    @classmethod
    def give_user(cls, user_id: int) -> None:
        try:
            cache.decr(cls._user_key(user_id))
        except Exception:  # noqa: BLE001 - expired or unavailable: nothing to give back
            pass


class _Held:
    """The stream as the response's content: its slots are given back when the response is
    closed, whether or not the stream was ever read (a client that left at once)."""

    def __init__(self, events: Iterator[str], user_id: int) -> None:
        self.events, self.user_id, self.released = events, user_id, False

    def __iter__(self) -> Iterator[str]:
        return self.events

    def close(self) -> None:
        if self.released:
            return
        self.released = True
        getattr(self.events, "close", lambda: None)()
        Slots.process().release()
        Slots.give_user(self.user_id)


def _refused(code: str, detail: str, status: int) -> JsonResponse:
    response = JsonResponse(error_body(code, detail), status=status)
    response["Retry-After"] = str(RETRY_AFTER)
    return response


def take_slot(request: Request, busy: str, per_user: str) -> JsonResponse | None:
    """Take a stream slot for the request's user (None), or the refusal to send: 503 ``busy``
    when this process has none free, 429 ``per_user`` past the user's limit."""
    if not Slots.process().acquire(blocking=False):
        return _refused("busy", busy, 503)
    if not Slots.take_user(request.user.pk):
        Slots.process().release()
        return _refused("throttled", f"at most {settings.EVENTS_MAX_PER_USER} event streams per user; {per_user}", 429)
    return None


def give_slot(request: Request) -> None:
    """Give back a slot ``take_slot`` took when no stream will hold it."""
    Slots.process().release()
    Slots.give_user(request.user.pk)


def held_response(request: Request, events: Iterator[str]) -> StreamingHttpResponse:
    """``events`` as a text/event-stream response holding the slot ``take_slot`` took."""
    response = StreamingHttpResponse(_Held(events, request.user.pk), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    return response


def open_stream(request: Request, ids: list[int], hidden: frozenset[int] = frozenset()) -> HttpResponse:
    """The event stream of ``ids`` in a free slot, or why there is none."""
    refused = take_slot(
        request,
        "no event stream is free on this server now; poll the documents instead",
        "follow several documents over one (GET /api/knowledge/document/events/?id=1,2,3)",
    )
    if refused is not None:
        return refused
    return held_response(request, stream(ids, settings.EVENTS_POLL_SECONDS, settings.EVENTS_MAX_SECONDS, hidden))


class DocumentEvents(APIView):
    renderer_classes = [JSONRenderer, EventStreamRenderer]

    @extend_schema(responses={(200, "text/event-stream"): OpenApiTypes.STR, 429: dict, 503: dict})
    def get(self, request: Request, pk: int) -> HttpResponse:
        return open_stream(request, [document_for(request, pk).pk])


class DocumentsEvents(APIView):
    """Many documents over one stream: ``?id=1,2,3`` (at most 100; ones you cannot see are
    reported as ``deleted``, as if they did not exist)."""

    renderer_classes = [JSONRenderer, EventStreamRenderer]

    @extend_schema(
        operation_id="knowledge_documents_events",
        parameters=[OpenApiParameter("id", str, required=True, description="document ids, comma-separated")],
        responses={(200, "text/event-stream"): OpenApiTypes.STR, 400: dict, 429: dict, 503: dict},
    )
    def get(self, request: Request) -> HttpResponse:
        raw = [part for value in request.query_params.getlist("id") for part in value.split(",") if part.strip()]
        ids = [parse_id(part) for part in raw]
        if not ids or None in ids or len(ids) > MAX_DOCUMENTS:
            raise ValidationError({"id": [f"1 to {MAX_DOCUMENTS} document ids, comma-separated"]})
        visible = set(access.documents_for(request.user).filter(pk__in=ids).values_list("pk", flat=True))
        return open_stream(request, ids, frozenset(ids) - visible)  # unseen ones do not exist for the user
