"""What a locked-out login gets (django-axes' AXES_LOCKOUT_CALLABLE): the API's JSON error
envelope under /api/, the sign-in page with the reason elsewhere; 429 either way."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext

from knowledge.api.errors import error_body


def message() -> str:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    text = gettext("too many failed sign-ins for this user from this address; try again in %(minutes)d minutes")
    return text % {"minutes": minutes}


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: Any = None) -> HttpResponse:  # fmt: skip
    if request.path.startswith("/api/"):
        response = JsonResponse(error_body("throttled", message()), status=429)
    else:
        context = {"form": AuthenticationForm(request), "locked_out": message()}
        response = render(request, "registration/login.html", context, status=429)
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response
