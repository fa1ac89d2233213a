"""Shared fixtures. Everything is real: the embedded PostgreSQL + pgvector, the embedded Redis
broker, a Celery worker running in a thread of the test process, the bundled whisper and
embedding models, and speech fixtures with reference transcripts."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import jiwer
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture_path(name: str) -> Path:
    return FIXTURES / name


def reference_text(stem: str) -> str:
    return (FIXTURES / f"{stem}.txt").read_text().strip()


_NUMBERS = {"ten": "10", "three hundred": "300", "one": "1"}


def normalise(text: str) -> list[str]:
    text = text.lower()
    for word, digits in _NUMBERS.items():
        text = re.sub(rf"\b{word}\b", digits, text)
    return re.findall(r"[a-z0-9']+", text)


def word_error_rate(reference: str, hypothesis: str) -> float:
    """jiwer's word error rate over the normalised words (edits over the reference's length)."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    if not ref:
        return float(len(hyp))  # every word inserted
    return jiwer.wer(" ".join(ref), " ".join(hyp)) if hyp else 1.0


@pytest.fixture(scope="session", autouse=True)
def _clean_up_after_session():
    """Remove test media (before, too: an interrupted run leaves its renditions under document ids
    the next run's fresh database hands out again); stop the embedded services if this test run started them (a running
    `make run` that owns them is left alone)."""
    from django.conf import settings

    from settings import embedded

    shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)  # what an interrupted earlier run left
    yield
    shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)
    embedded.stop_services_started_here()


@pytest.fixture(scope="session", autouse=True)
def _fresh_cache():
    """Drop what an interrupted earlier run left in the suite's part of the cache (throttle
    counts, locks), and only that: the embedded Redis may also serve a running `make run`."""
    from django.conf import settings
    from django.core.cache import cache

    client = cache._cache.get_client(write=True)
    stale = list(client.scan_iter(match=f"{settings.CACHE_KEY_PREFIX}:*"))
    if stale:
        client.delete(*stale)


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """A real Celery worker (solo pool) consuming the test queue from the real Redis broker."""
    from celery.contrib.testing.worker import start_worker

    from settings.celery import app

    with django_db_blocker.unblock():
        app.control.purge()  # drop messages left by an interrupted earlier run
        with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False, loglevel="WARNING",
                          shutdown_timeout=60) as worker:  # fmt: skip
            yield worker


@pytest.fixture
def empty_models_dir(settings, tmp_path):
    """MODELS_DIR set to an empty folder; the folder where model exports are written in it."""
    settings.MODELS_DIR = tmp_path / "models"
    return tmp_path / "models" / "onnx"


@pytest.fixture
def speech_models(db):
    """The bundled models as registered by migrations (re-created after a transactional flush)."""
    from stt_models.bundled import ensure_bundled_models
    from stt_models.models import SpeechModel

    ensure_bundled_models(SpeechModel)
    return {m.name: m for m in SpeechModel.objects.all()}


@pytest.fixture
def user(db, django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.com", "pw-alice-123")


@pytest.fixture
def api(user):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


REGISTRY_PERMISSIONS = ("add_speechmodel", "change_speechmodel", "add_languagemodel", "change_languagemodel")


@pytest.fixture
def staff(django_user_model):
    """An API client logged in as a staff user granted the registry permissions (an operator)."""
    from django.contrib.auth.models import Permission
    from rest_framework.test import APIClient

    operator = django_user_model.objects.create_user("ops", password="pw-ops-123", is_staff=True)
    operator.user_permissions.set(Permission.objects.filter(codename__in=REGISTRY_PERMISSIONS))
    client = APIClient()
    client.force_authenticate(operator)
    return client


def wait_for_documents(ids: list[int], timeout: float = 120.0) -> list:
    """Every document once terminal, with paragraph_count (TimeoutError names the stuck ones)."""
    from knowledge.ingest import wait_until_finished

    return wait_until_finished(ids, timeout=timeout, poll=0.2)


# The loopback OpenAI-compatible server standing in for a remote LLM, and a model registered on it.
KEY_ENV = "TEST_LLM_KEY"


@pytest.fixture
def chat_server(monkeypatch):
    from tests.llm_models.chat_server import ChatServer

    monkeypatch.setenv(KEY_ENV, "test-llm-key")
    with ChatServer(api_key="test-llm-key") as server:
        yield server


@pytest.fixture
def language_model(db, chat_server):
    from llm_models.models import LanguageModel

    return LanguageModel.objects.create(
        name="editor", provider="openai_compatible", model="editor-1", base_url=chat_server.base_url,
        api_key_env=KEY_ENV, timeout=1.0, max_tokens=512, context_window=4096, temperature=0.0,
    )  # fmt: skip
