"""REST views owned by the pipeline: the transcript of a document."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from knowledge.api.views import visible_documents
from knowledge.models import Status
from media_learning import export
from media_learning.pipeline.transcribe import load_transcript


class DocumentTranscript(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=list(export.FORMATS), description="default json"),
            OpenApiParameter("words", bool, description="json only: include word timestamps when recorded"),
        ],
        responses={200: dict, 400: None, 409: None},
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        document = get_object_or_404(visible_documents(request), pk=pk)
        fmt = request.query_params.get("format", "json")
        if fmt not in export.FORMATS:
            return Response({"format": [f"one of {', '.join(export.FORMATS)}"]}, status=400)
        if document.status != Status.SUCCESS:
            return Response({"detail": f"the transcript is ready when the document is SUCCESS, not {document.status}"},
                            status=409)  # fmt: skip
        transcript = load_transcript(document)
        if fmt == "json":
            words = request.query_params.get("words", "").lower() in ("1", "true", "yes")
            return Response(export.to_json(transcript, words=words))
        body = {"txt": export.to_txt, "srt": export.to_srt, "vtt": export.to_vtt}[fmt](transcript)
        response = HttpResponse(body, content_type=export.FORMATS[fmt])
        stem = document.name.rsplit(".", 1)[0] or f"document-{document.pk}"
        response["Content-Disposition"] = f'inline; filename="{stem}.{fmt}"'
        return response
