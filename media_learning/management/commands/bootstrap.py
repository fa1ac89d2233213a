"""manage.py bootstrap: first-start setup for the embedded default (idempotent).

Creates an admin user when there is none (password in var/dev_admin_password), writes its API
token to var/dev_api_token, registers the bundled speech models and makes the ONNX export of
the embedding model for search queries (once; see knowledge/query_encoder.py).
"""

from __future__ import annotations

import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token

from knowledge import embeddings, english_vectors
from stt_models.bundled import ensure_bundled_models
from stt_models.diarization import voices
from stt_models.models import SpeechModel


def _write_private(path, text: str) -> None:  # noqa: ANN001
    """Write a secret readable by this user only, from the moment the file exists."""
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        out.write(text + "\n")
    path.chmod(0o600)  # a file left by an older version


class Command(BaseCommand):
    help = "Create the admin user and API token, register the bundled models, export the query and speaker models."

    def handle(self, *args: str, **opts: object) -> None:
        ensure_bundled_models(SpeechModel)
        users = get_user_model()
        admin = users.objects.filter(is_superuser=True).order_by("id").first()
        if admin is None:
            password = secrets.token_urlsafe(12)
            admin = users.objects.create_superuser("admin", "admin@localhost", password)
            _write_private(settings.VAR_DIR / "dev_admin_password", password)
            self.stdout.write(f"created admin user 'admin'; password in {settings.VAR_DIR / 'dev_admin_password'}")
        token, _ = Token.objects.get_or_create(user=admin)
        _write_private(settings.VAR_DIR / "dev_api_token", token.key)
        self.stdout.write(f"API token for {admin.get_username()!r} is in {settings.VAR_DIR / 'dev_api_token'}")
        prepared = embeddings.prepare_queries(embeddings.model_name())
        self.stdout.write(f"search query encoder ({embeddings.model_name()}): {prepared}")
        self.stdout.write(f"English second opinion ({english_vectors.MODEL}): {english_vectors.prepare()}")
        self.stdout.write(f"speaker model: {voices.prepare()}")
