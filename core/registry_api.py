"""The REST plumbing the model registries share: a serializer that runs the model's ``clean()``,
the registry permission, and the list/create/update viewset that keeps one default."""

from __future__ import annotations

from copy import copy

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Model
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.request import Request


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
