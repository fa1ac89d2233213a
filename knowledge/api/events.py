"""Server-sent events: ``GET /api/knowledge/document/{id}/events/`` streams the document's
status, stage and progress as they change, and ends after a terminal status. Each event is
``event: status`` with the JSON state; a comment line every 15 s keeps proxies from closing an
idle stream. Polling the document stays supported."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from django.conf import settings
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from knowledge.api.views import document_for
from knowledge.models import TERMINAL_STATUSES, Document

FIELDS = ("id", "status", "stage", "progress", "error", "warnings", "language", "duration", "updated_at")
KEEPALIVE_SECONDS = 15.0


class EventStreamRenderer(BaseRenderer):
    """Lets clients ask for text/event-stream; errors are still written as JSON."""

    media_type = "text/event-stream"
    format = "event-stream"
    charset = "utf-8"

    def render(
        self, data: object, accepted_media_type: str | None = None, renderer_context: dict | None = None
    ) -> bytes:
        return json.dumps(data).encode()


def _state(document_id: int) -> dict | None:
    row = Document.objects.filter(pk=document_id).values(*FIELDS).first()
    if row is not None:
        row["updated_at"] = row["updated_at"].isoformat()
    return row


def stream(document_id: int, poll: float, max_seconds: float) -> Iterator[str]:
    """The events of one document until it is terminal, gone, or ``max_seconds`` have passed."""
    yield f"retry: {int(poll * 2000)}\n\n"
    last: dict | None = None
    last_sent = started = time.monotonic()
    while True:
        state = _state(document_id)
        if state is None:
            yield f"event: deleted\ndata: {json.dumps({'id': document_id})}\n\n"
            return
        if state != last:
            yield f"event: status\nid: {state['updated_at']}\ndata: {json.dumps(state)}\n\n"
            last, last_sent = state, time.monotonic()
            if state["status"] in TERMINAL_STATUSES:
                return
        elif time.monotonic() - last_sent > KEEPALIVE_SECONDS:
            yield ": keep-alive\n\n"
            last_sent = time.monotonic()
        if time.monotonic() - started > max_seconds:
            yield "event: timeout\ndata: {}\n\n"
            return
        time.sleep(poll)


class DocumentEvents(APIView):
    renderer_classes = [JSONRenderer, EventStreamRenderer]

    @extend_schema(responses={(200, "text/event-stream"): OpenApiTypes.STR})
    def get(self, request: Request, pk: int) -> StreamingHttpResponse:
        document = document_for(request, pk)
        events = stream(document.pk, settings.EVENTS_POLL_SECONDS, settings.EVENTS_MAX_SECONDS)
        response = StreamingHttpResponse(events, content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
        return response
