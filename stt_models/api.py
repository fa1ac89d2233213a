"""REST API of the speech model registry: /api/stt-models/."""

from __future__ import annotations

from celery.exceptions import TimeoutError as CeleryTimeout
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.registry_api import CleanedModelSerializer, RegistryViewSet
from stt_models.models import SpeechModel
from stt_models.probes import check_model
from stt_models.tasks import test_model

TEST_TIMEOUT = 120  # seconds to wait for a worker to run the test transcription


class SpeechModelSerializer(CleanedModelSerializer):
    class Meta:
        model = SpeechModel
        fields = ["id", "name", "provider", "model", "base_url", "api_key_env", "device", "compute_type", "options",
                  "is_default", "description", "check_error", "checked_at", "created_at", "updated_at"]  # fmt: skip
        read_only_fields = ["id", "check_error", "checked_at", "created_at", "updated_at"]
        # Not the "one default" constraint's validators: perform_save moves the default atomically.
        validators: list = []
        extra_kwargs = {"is_default": {"validators": []}}


class SpeechModelViewSet(RegistryViewSet):
    """List, create and update speech models (writes need the model permissions). Saving runs a check whose
    result is in ``check_error``; ``POST {id}/test/`` transcribes the built-in clip on a worker."""

    queryset = SpeechModel.objects.order_by("name")
    serializer_class = SpeechModelSerializer

    def check_model(self, model: SpeechModel) -> str:
        return check_model(model)

    @extend_schema(request=None, responses={200: dict, 503: dict})
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        model = self.get_object()
        result = test_model.apply_async(kwargs={"model_id": model.pk})
        try:
            outcome = result.get(timeout=TEST_TIMEOUT, disable_sync_subtasks=False)
        except CeleryTimeout:
            return Response({"ok": False, "error": f"no worker finished the test within {TEST_TIMEOUT} s"}, status=503)
        return Response({"model": model.name, **outcome}, status=200 if outcome.get("ok") else 422)
