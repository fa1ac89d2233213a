"""REST API of the LLM registry: /api/llm-models/."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.registry_api import CleanedModelSerializer, RegistryViewSet
from llm_models.models import LanguageModel
from llm_models.probes import check_model, try_model


class LanguageModelSerializer(CleanedModelSerializer):
    class Meta:
        model = LanguageModel
        fields = ["id", "name", "provider", "model", "base_url", "api_key_env", "timeout", "max_tokens",
                  "context_window", "temperature", "options", "is_default", "description", "check_error",
                  "checked_at", "created_at", "updated_at"]  # fmt: skip
        read_only_fields = ["id", "check_error", "checked_at", "created_at", "updated_at"]
        validators: list = []
        extra_kwargs = {"is_default": {"validators": []}}


class LanguageModelViewSet(RegistryViewSet):
    """List, create and update LLMs (writes need the model permissions). Saving checks the server, the key and the
    model name (``check_error``); ``POST {id}/test/`` sends one tiny chat request and times it."""

    queryset = LanguageModel.objects.order_by("name")
    serializer_class = LanguageModelSerializer

    def check_model(self, model: LanguageModel) -> str:
        return check_model(model)

    @extend_schema(request=None, responses={200: dict, 422: dict})
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        model = self.get_object()
        outcome = try_model(model)
        return Response({"model": model.name, **outcome}, status=200 if outcome["ok"] else 422)
