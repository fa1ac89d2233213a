"""The original media of a document, for users who may see it, with HTTP Range support (so a
player can seek without downloading the whole file).

The file is whatever the uploader sent, served from the app's own origin, so it must never be
able to act as a page there: its type is the one the worker found by probing the content, and
only audio/* or video/* is served as itself (inline, for the player); anything else, including
a file not probed yet, is ``application/octet-stream`` and an attachment. Every answer also
carries ``Content-Security-Policy: sandbox`` (no script runs even if a browser renders it),
``X-Content-Type-Options: nosniff`` and ``Cross-Origin-Resource-Policy: same-origin``. Serving
media from a separate origin is stronger still (docs/security.md)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO

from django.http import FileResponse, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from knowledge.api.errors import error_body
from knowledge.api.views import document_for
from knowledge.models import TERMINAL_STATUSES, Document

CHUNK = 256 * 1024
PLAYABLE = ("audio/", "video/")
# On every media answer, whatever its type.
MEDIA_HEADERS = {
    "Content-Security-Policy": "sandbox",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def media_type(document: Document) -> tuple[str, bool]:
    """(content type, inline): the probed type when it is audio or video, else an attachment."""
    if document.mime.startswith(PLAYABLE):
        return document.mime, True
    return "application/octet-stream", False


def _ranged(handle: IO[bytes], start: int, length: int) -> Iterator[bytes]:
    try:
        handle.seek(start)
        while length > 0 and (chunk := handle.read(min(CHUNK, length))):
            length -= len(chunk)
            yield chunk
    finally:
        handle.close()


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single ``bytes=`` range; None for no or an ignorable header;
    ValueError when it cannot be satisfied."""
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
    if not match or not any(match.groups()):
        return None  # absent, malformed or multi-range: answer the whole file (RFC 9110 allows it)
    first, last = match.groups()
    if not first:  # the last N bytes
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise ValueError
    return start, end


def serve_file(request: Request, handle: IO[bytes], size: int, content_type: str, filename: str,
               inline: bool) -> HttpResponse:  # fmt: skip
    """``handle`` (closed when done) with Range support and the sandbox headers."""
    try:
        wanted = parse_range(request.headers.get("Range", ""), size)
    except ValueError:
        handle.close()
        body = error_body("range_not_satisfiable", f"the file has {size} bytes")
        response = JsonResponse(body, status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    if wanted is None:
        response = FileResponse(handle, content_type=content_type)
    else:
        start, end = wanted
        response = StreamingHttpResponse(_ranged(handle, start, end - start + 1), status=206,
                                         content_type=content_type)  # fmt: skip
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = content_disposition_header(not inline, filename)
    response["Cache-Control"] = "private, max-age=3600"
    for name, value in MEDIA_HEADERS.items():
        response[name] = value
    return response


class DocumentMedia(APIView):
    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY,
                   (206, "application/octet-stream"): OpenApiTypes.BINARY,
                   404: OpenApiResponse(description="no such document"),
                   409: OpenApiResponse(description="a file_url not downloaded yet"),
                   410: OpenApiResponse(description="the original was purged (MEDIA_RETENTION_DAYS)"),
                   416: OpenApiResponse(description="the range cannot be satisfied")},
    )  # fmt: skip
    def get(self, request: Request, pk: int) -> HttpResponse:
        document = document_for(request, pk)
        if not document.file:
            if document.source_url and document.status not in TERMINAL_STATUSES:
                return JsonResponse(error_body("conflict", "the media is not downloaded yet"), status=409)
            return JsonResponse(error_body("gone", "the original media is not stored (deleted after the retention "
                                                   "period, or its download failed)"), status=410)  # fmt: skip
        content_type, inline = media_type(document)
        storage, name = document.file.storage, document.file.name
        return serve_file(request, storage.open(name, "rb"), storage.size(name), content_type,
                          document.name or "media", inline)  # fmt: skip
