"""Correcting a transcript: ``PATCH /api/knowledge/paragraph/{id}/`` with ``{"content"}`` (editor)
re-embeds and re-indexes the paragraph at once (knowledge/corrections.py);
``GET /api/knowledge/paragraph/{id}/revisions/`` lists its earlier texts (viewer);
``PATCH /api/knowledge/document/{id}/speakers/`` with ``{"label", "name"}`` names a speaker (editor);
``GET /api/knowledge/{kb_id}/speakers/`` lists who speaks in a knowledge base (viewer)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from knowledge import access, corrections, speaker_names
from knowledge.api.errors import error_body
from knowledge.api.serializers import ParagraphSerializer
from knowledge.api.views import knowledge_base_for
from knowledge.models import Paragraph, ParagraphRevision, Role


class CorrectionSerializer(serializers.Serializer):
    content = serializers.CharField(max_length=corrections.MAX_CHARS, trim_whitespace=True)


class RevisionSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ParagraphRevision
        fields = ["id", "previous", "content", "user", "created_at"]
        read_only_fields = fields


def paragraph_for(request: Request, pk: int, role: Role = Role.VIEWER) -> Paragraph:
    paragraph = get_object_or_404(access.paragraphs_for(request.user).select_related("document__knowledge_base"), pk=pk)
    if not access.allows(request.user, paragraph.document.knowledge_base, role):
        raise PermissionDenied(f"this needs the {role} role in knowledge base {paragraph.knowledge_base_id}")
    return paragraph


class ParagraphCorrection(APIView):
    @extend_schema(request=CorrectionSerializer, responses={200: ParagraphSerializer, 400: dict, 409: dict})
    def patch(self, request: Request, pk: int) -> Response:
        paragraph = paragraph_for(request, pk, Role.EDITOR)
        data = CorrectionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            paragraph = corrections.correct(paragraph, data.validated_data["content"], request.user)
        except corrections.CorrectionRefused as exc:
            return Response(error_body("conflict", str(exc)), status=409)
        return Response(ParagraphSerializer(paragraph).data)


class ParagraphRevisions(APIView):
    @extend_schema(responses=RevisionSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        paragraph = paragraph_for(request, pk)
        revisions = paragraph.revisions.select_related("user").order_by("created_at", "id")
        return Response(RevisionSerializer(revisions, many=True).data)


class SpeakerNameSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=speaker_names.NAME_CHARS, allow_blank=True, trim_whitespace=True)


class DocumentSpeakers(APIView):
    @extend_schema(request=SpeakerNameSerializer, responses={200: dict, 400: dict, 409: dict})
    def patch(self, request: Request, pk: int) -> Response:
        """Name one speaker of a diarized document ('' gives back the label): label -> shown name."""
        document = get_object_or_404(access.documents_for(request.user).select_related("knowledge_base"), pk=pk)
        if not access.allows(request.user, document.knowledge_base, Role.EDITOR):
            raise PermissionDenied(f"this needs the {Role.EDITOR} role in knowledge base {document.knowledge_base_id}")
        data = SpeakerNameSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            names = speaker_names.rename(document, data.validated_data["label"], data.validated_data["name"])
        except speaker_names.RenameRefused as exc:
            return Response(error_body("conflict", str(exc)), status=409)
        return Response({"speakers": names})


class KnowledgeBaseSpeakerSerializer(serializers.Serializer):
    name = serializers.CharField()
    documents = serializers.IntegerField()
    seconds = serializers.FloatField()
    known_voice = serializers.BooleanField()


class KnowledgeBaseSpeakers(APIView):
    @extend_schema(responses=KnowledgeBaseSpeakerSerializer(many=True))
    def get(self, request: Request, kb_id: int) -> Response:
        """Who speaks in this knowledge base: the names (and labels) ``speaker`` filters search and ask by."""
        found = speaker_names.in_knowledge_base(knowledge_base_for(request, kb_id))
        return Response(KnowledgeBaseSpeakerSerializer(found, many=True).data)
