"""Every API error is JSON: ``{"code": <stable code>, "detail": <one human line>}``, plus
``"errors": {field: [messages]}`` for invalid input. Django's own 400/403/404/500 pages under
/api/ are the same JSON."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.errors import FieldErrors, UserError
from knowledge.upload_limits import UploadTooLarge


def _flatten(errors: Any, prefix: str = "") -> list[str]:
    if isinstance(errors, dict):
        return [line for key, value in errors.items() for line in _flatten(value, f"{prefix}{key}: ")]
    if isinstance(errors, list):
        return [line for value in errors for line in _flatten(value, prefix)]
    return [f"{prefix}{errors}"]


def error_body(code: str, detail: str, errors: dict | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "detail": detail}
    if errors:
        body["errors"] = errors
    return body


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, RequestDataTooBig):  # an upload limit (knowledge.upload_limits) or a large form
        detail = str(exc) if isinstance(exc, UploadTooLarge) else "the request body is too large"
        return Response(error_body("file_too_large", detail), status=413)
    if isinstance(exc, TooManyFilesSent):
        detail = f"at most {settings.MAX_UPLOAD_FILES} files per upload request (MAX_UPLOAD_FILES)"
        return Response(error_body("invalid", detail, {"file": [detail]}), status=400)
    if isinstance(exc, UserError):  # a permanent, one-line reason a view did not map itself: never a 500
        errors = {k: [v] for k, v in exc.errors.items()} if isinstance(exc, FieldErrors) else None
        return Response(error_body(exc.code, " ".join(str(exc).split()), errors), status=400)
    response = exception_handler(exc, context)
    if response is None:
        return None  # unexpected: Django's 500 handler answers (JSON under /api/)
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = error_body("invalid", "; ".join(_flatten(errors)), errors)
    elif isinstance(exc, exceptions.APIException):
        code = exc.get_codes()
        response.data = error_body(code if isinstance(code, str) else exc.default_code, str(exc.detail))
    else:  # Http404 and PermissionDenied from Django, which DRF turned into responses
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else str(response.data)
        response.data = error_body("not_found" if response.status_code == 404 else "permission_denied", str(detail))
    return response


def _api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _api(request):
        return JsonResponse(error_body("bad_request", "the request could not be understood"), status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _api(request):
        return JsonResponse(error_body("permission_denied", "you may not do this"), status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _api(request):
        return JsonResponse(error_body("not_found", f"no such API route: {request.path}"), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _api(request):
        return JsonResponse(error_body("server_error", "internal error; it has been logged"), status=500)
    return defaults.server_error(request)
