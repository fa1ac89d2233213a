"""POST /api/auth/token/ {username, password} -> {"token": ...}: a user's API token (made once,
the same key afterwards). Failed attempts count toward the login lockout like the sign-in form
(django-axes): AXES_FAILURE_LIMIT failures for a user name from one address lock that pair out
for AXES_COOLOFF_TIME, answered 429."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from knowledge.api.errors import error_body


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=1000, trim_whitespace=False, style={"input_type": "password"})


class ObtainToken(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(request=CredentialsSerializer, responses={200: dict, 400: dict, 429: dict})
    def post(self, request: Request) -> Response:
        form = CredentialsSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        # The Django request: the lockout reads and marks it (AxesMiddleware answers a lockout).
        user = authenticate(request._request, **form.validated_data)
        if user is None or not user.is_active:
            return Response(error_body("invalid_credentials", "the user name and password did not match"), status=400)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
