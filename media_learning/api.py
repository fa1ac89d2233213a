"""REST views owned by the pipeline: the transcript and audio of a document, and knowledge-base archives."""

from __future__ import annotations

import tempfile

from django.http import FileResponse, HttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from knowledge import corrections
from knowledge.api.errors import error_body
from knowledge.api.media import serve_file
from knowledge.api.throttles import AudioRateThrottle
from knowledge.api.views import document_for, knowledge_base_for
from knowledge.models import Document, ParagraphKind, Role, Status
from knowledge.names import clean_file_name
from media_learning import archive, export, renditions
from media_learning.pipeline import clean, speakers
from media_learning.pipeline.extract import CODECS, SAMPLE_RATES
from media_learning.pipeline.transcribe import MediaTranscript, load_transcript
from stt_models.providers.base import Segment

SOURCES = ("segments", "paragraphs")
RETRY_AFTER = 2  # seconds a client waits before asking again for audio being prepared


def paragraph_transcript(document: Document) -> MediaTranscript:
    """The indexed transcript paragraphs (polished when an LLM polished them) as one transcript."""
    paragraphs = document.paragraphs.filter(kind=ParagraphKind.TRANSCRIPT).order_by("position")
    segments = [Segment(start=p.start, end=p.end, text=p.content, speaker=p.speaker) for p in paragraphs]
    return MediaTranscript(language=document.language, duration=document.duration or 0.0, segments=segments)


def download_name(document: Document, extension: str) -> str:
    stem = document.name.rsplit(".", 1)[0] or f"document-{document.pk}"
    return f"{stem}.{extension}"


class DocumentTranscript(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=list(export.FORMATS), description="default json"),
            OpenApiParameter("words", bool, description="json only: include word timestamps when recorded"),
            OpenApiParameter(
                "source",
                str,
                enum=list(SOURCES),
                description="segments (default): the speech model's timed segments, as transcribed; paragraphs: "
                "the indexed paragraphs, polished when the upload named an LLM",
            ),  # fmt: skip
        ],
        responses={200: dict, 400: None, 409: None},
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        document = document_for(request, pk)
        fmt = request.query_params.get("format", "json")
        source = request.query_params.get("source", "segments")
        errors = {}
        if fmt not in export.FORMATS:
            errors["format"] = [f"one of {', '.join(export.FORMATS)}"]
        if source not in SOURCES:
            errors["source"] = [f"one of {', '.join(SOURCES)}"]
        if errors:
            raise ValidationError(errors)
        if document.status != Status.SUCCESS:
            detail = f"the transcript is ready when the document is SUCCESS, not {document.status}"
            return Response(error_body("conflict", detail),
                            status=409)  # fmt: skip
        if source == "segments":  # as the paragraphs show them: invented phrases out, in the KB's script, corrected
            transcript = load_transcript(document)
            transcript.segments = clean.as_shown(transcript.segments, document.knowledge_base.script)
            fixed = document.paragraphs.filter(kind=ParagraphKind.TRANSCRIPT, corrected_at__isnull=False)
            transcript.segments = corrections.corrected_segments(transcript.segments, list(fixed))
            transcript.segments = speakers.named_segments(transcript.segments, document.speakers)
        else:
            transcript = paragraph_transcript(document)
        if fmt == "json":
            words = request.query_params.get("words", "").lower() in ("1", "true", "yes")
            return Response({**export.to_json(transcript, words=words), "summary": document.summary})
        body = {"txt": export.to_txt, "srt": export.to_srt, "vtt": export.to_vtt}[fmt](transcript)
        response = HttpResponse(body, content_type=export.FORMATS[fmt])
        response["Content-Disposition"] = content_disposition_header(False, download_name(document, fmt))
        return response


class DocumentAudio(APIView):
    """The document's audio track as WAV or MP3, mono, at ``sample_rate`` (default 16000). A
    worker makes it once (media_learning/renditions.py): 202 with Retry-After while it does,
    then the file (Range-capable); 422 with the reason when it cannot be made. Asking for a new
    one is throttled per user (AUDIO_RATE)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=list(CODECS), description="default wav"),
            OpenApiParameter("sample_rate", int, enum=list(SAMPLE_RATES), description="default 16000"),
        ],
        responses={(200, "audio/wav"): bytes, 202: dict, 400: None, 410: None, 422: None, 429: None},
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        document = document_for(request, pk)
        fmt = request.query_params.get("format", "wav")
        rate = request.query_params.get("sample_rate", "16000")
        errors = {}
        if fmt not in CODECS:
            errors["format"] = [f"one of {', '.join(CODECS)}"]
        if rate not in {str(r) for r in SAMPLE_RATES}:
            errors["sample_rate"] = [f"one of {', '.join(map(str, SAMPLE_RATES))}"]
        if errors:
            raise ValidationError(errors)
        if not document.file:
            return Response(error_body("gone", "the original file is not stored (MEDIA_RETENTION_DAYS)"), status=410)
        rendition = renditions.find(document, fmt, int(rate))
        if rendition.ready:
            content_type = "audio/wav" if fmt == "wav" else "audio/mpeg"
            size = rendition.path.stat().st_size
            return serve_file(request, rendition.path.open("rb"), size, content_type, download_name(document, fmt),
                              inline=True)  # fmt: skip
        if rendition.error:
            return Response(error_body("no_audio", rendition.error), status=422)
        if not renditions.in_progress(document, fmt, int(rate)):  # asking again for one under way is free
            throttle = AudioRateThrottle()
            if not throttle.allow_request(request, self):
                raise Throttled(throttle.wait())
            renditions.request_render(document, fmt, int(rate))
        body = {"status": "rendering", "detail": "the audio is being prepared; ask again in a moment"}
        return Response(body, status=202, headers={"Retry-After": str(RETRY_AFTER)})


class KnowledgeBaseExport(APIView):
    """The knowledge base as one archive (owner): its finished documents, paragraphs with times
    and vectors, summaries, transcripts, runs and revisions; ``?media=1`` adds the original files
    (media_learning/archive.py; ``manage.py import_kb`` reads it)."""

    @extend_schema(parameters=[OpenApiParameter("media", bool, description="include the original media files")],
                   responses={(200, "application/zip"): bytes, 403: None, 404: None})  # fmt: skip
    def get(self, request: Request, kb_id: int) -> HttpResponse:
        kb = knowledge_base_for(request, kb_id, Role.OWNER)
        media = request.query_params.get("media", "").lower() in ("1", "true", "yes")
        spool = tempfile.SpooledTemporaryFile(max_size=64 * 1024**2)
        archive.export(kb, spool, media=media)
        spool.seek(0)
        name = f"{clean_file_name(kb.name) or 'knowledge-base'}.zip"
        response = FileResponse(spool, content_type="application/zip", as_attachment=True, filename=name)
        return response
