"""The web page (templates/knowledge/app.html): everything it does goes through the REST API."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from knowledge.models import Status

# The spoken languages the upload form offers by name (any whisper language is accepted through
# the API: stt_models/languages.py); blank detects it.
OFFERED_LANGUAGES = [
    ("zh", _("Chinese (Mandarin)")), ("en", _("English")), ("yue", _("Cantonese")), ("ja", _("Japanese")),
    ("ko", _("Korean")), ("fr", _("French")), ("de", _("German")), ("es", _("Spanish")),
]  # fmt: skip
# The statuses the document list filters by, as the API reports them (REVOKE, a cancel on its
# way, lasts only until the worker sees it).
FILTERED_STATUSES = [Status.SUCCESS, Status.STARTED, Status.PENDING, Status.FAILURE, Status.REVOKED]


@login_required
def app_page(request: HttpRequest) -> HttpResponse:
    statuses = [(status.value, _(status.value)) for status in FILTERED_STATUSES]
    return render(request, "knowledge/app.html", {"languages": OFFERED_LANGUAGES, "statuses": statuses})
