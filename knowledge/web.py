"""The web page (templates/knowledge/app.html): everything it does goes through the REST API."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def app_page(request: HttpRequest) -> HttpResponse:
    return render(request, "knowledge/app.html")
