"""REST API of the speech model registry: /api/stt-models/."""

from __future__ import annotations

from copy import copy

from celery.exceptions import TimeoutError as CeleryTimeout
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Model
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from stt_models.checks import check_model
from stt_models.models import SpeechModel

TEST_TIMEOUT = 120  # seconds to wait for a worker to run the test transcription


class CleanedModelSerializer(serializers.ModelSerializer):
    """Runs the model's ``clean()`` on the would-be result, so the API refuses what the admin
    refuses. Where the model's server is and what its last check said are for staff only."""

    STAFF_ONLY = ("base_url", "api_key_env", "check_error")

    def to_representation(self, instance: Model) -> dict:
        data = super().to_representation(instance)
        request = self.context.get("request")
        if not (request and request.user.is_staff):
            for field in self.STAFF_ONLY:
                data.pop(field, None)
        return data

    def validate(self, attrs: dict) -> dict:
        candidate = copy(self.instance) if self.instance else self.Meta.model()
        for field, value in attrs.items():
            setattr(candidate, field, value)
        try:
            candidate.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict)
        return attrs


class SpeechModelSerializer(CleanedModelSerializer):
    class Meta:
        model = SpeechModel
        fields = ["id", "name", "provider", "model", "base_url", "api_key_env", "device", "compute_type", "options",
                  "is_default", "description", "check_error", "checked_at", "created_at", "updated_at"]  # fmt: skip
        read_only_fields = ["id", "check_error", "checked_at", "created_at", "updated_at"]
        # Not the "one default" constraint's validators: perform_save moves the default atomically.
        validators: list = []
        extra_kwargs = {"is_default": {"validators": []}}


class RegistryPermission(permissions.DjangoModelPermissions):
    """Any signed-in user may read the registry; creating a model needs its ``add`` permission,
    changing or testing one its ``change`` permission (superusers hold them all). Being staff is
    not enough: a model names a server that receives users' audio and text."""

    def has_permission(self, request: Request, view: object) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if getattr(view, "action", None) == "test":
            meta = view.get_queryset().model._meta
            return request.user.has_perm(f"{meta.app_label}.change_{meta.model_name}")
        return super().has_permission(request, view)


class RegistryViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):  # fmt: skip
    """List, create and update registry models (writes need the model permissions). Saving makes
    the model the only default when asked and runs ``check_model``, whose result is in ``check_error``."""

    permission_classes = [RegistryPermission]

    def check_model(self, model: Model) -> str:
        raise NotImplementedError

    def perform_save(self, serializer: serializers.ModelSerializer) -> None:
        model_class = serializer.Meta.model
        with transaction.atomic():
            if serializer.validated_data.get("is_default"):
                model_class.objects.filter(is_default=True).update(is_default=False)
            model = serializer.save()
        self.check_model(model)

    def perform_create(self, serializer: serializers.ModelSerializer) -> None:
        self.perform_save(serializer)

    def perform_update(self, serializer: serializers.ModelSerializer) -> None:
        self.perform_save(serializer)


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
        from stt_models.tasks import test_model

        model = self.get_object()
        result = test_model.apply_async(kwargs={"model_id": model.pk})
        try:
            outcome = result.get(timeout=TEST_TIMEOUT, disable_sync_subtasks=False)
        except CeleryTimeout:
            return Response({"ok": False, "error": f"no worker finished the test within {TEST_TIMEOUT} s"}, status=503)
        return Response({"model": model.name, **outcome}, status=200 if outcome.get("ok") else 422)
