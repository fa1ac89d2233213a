"""Operations commands: media_status, reprocess_failed filters, cancel, reap_stuck, reindex."""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from knowledge import embeddings
from knowledge.models import Document, KnowledgeBase, Paragraph, ProcessingRun, RunOutcome, Stage, Status
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db


def make(kb, name, status, error_type="", age_days=0, **fields):
    doc = DocumentFactory.build(knowledge_base=kb, name=name, status=status, task_id=f"t-{name}", **fields)
    doc.file.save(name, ContentFile(b"x"), save=True)
    if age_days:
        Document.objects.filter(pk=doc.pk).update(created_at=timezone.now() - timedelta(days=age_days))
    if error_type:
        ProcessingRun.objects.create(document=doc, attempt=1, task_id=doc.task_id, outcome=RunOutcome.FAILURE,
                                     error_type=error_type, error="boom")  # fmt: skip
    return doc


@pytest.fixture
def docs(db):
    talks, other = KnowledgeBase.objects.create(name="talks"), KnowledgeBase.objects.create(name="other")
    return {
        "bad_media": make(talks, "bad.mp3", Status.FAILURE, "MediaError", error="the file is empty"),
        "old_stt": make(talks, "old.mp3", Status.FAILURE, "SttError", age_days=5, error="speech API refused"),
        "lost": make(other, "lost.mp3", Status.FAILURE, "WorkerLost", error="the worker was lost 3 times"),
        "queued": make(talks, "queued.mp3", Status.PENDING),
        "running": make(talks, "running.mp3", Status.STARTED, stage=Stage.TRANSCRIBING, heartbeat_at=timezone.now()),
        "done": make(other, "done.mp3", Status.SUCCESS),
    }


def run(*args):
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_media_status_counts_by_status_stage_and_error_type(docs, celery_worker):
    report = json.loads(run("media_status", "--json"))

    assert report["by_status"] == {"PENDING": 1, "STARTED": 1, "SUCCESS": 1, "FAILURE": 3, "REVOKE": 0,
                                   "REVOKED": 0}  # fmt: skip
    assert report["started_by_stage"] == {"transcribing": 1}
    assert report["failures_by_error_type"] == {"MediaError": 1, "SttError": 1, "WorkerLost": 1}
    assert report["oldest_pending_seconds"] >= 0 and report["stale_heartbeats"] == 0
    assert report["workers"] >= 1 and isinstance(report["queue_depth"], int)
    assert "failures by error type: MediaError 1, SttError 1, WorkerLost 1" in run("media_status")


def test_reprocess_failed_filters_by_knowledge_age_and_error_type(docs):
    by_type = run("reprocess_failed", "--error-type", "SttError", "--dry-run")
    recent_talks = run("reprocess_failed", "--knowledge", "talks", "--since", "2d", "--dry-run")
    with pytest.raises(CommandError, match="--since expects"):
        run("reprocess_failed", "--since", "last tuesday")

    assert f"document {docs['old_stt'].pk} " in by_type and "would queue 1 document(s)" in by_type
    assert f"document {docs['bad_media'].pk} " in recent_talks and "would queue 1 document(s)" in recent_talks
    assert Document.objects.filter(status=Status.FAILURE).count() == 3  # dry runs change nothing

    queued = run("reprocess_failed", "--error-type", "WorkerLost")
    assert "queued 1 document(s)" in queued
    assert Document.objects.get(pk=docs["lost"].pk).status == Status.PENDING


def test_cancel_revokes_queued_and_asks_running_to_stop(docs):
    with pytest.raises(CommandError, match="name document ids"):
        run("cancel")
    out = run("cancel", "--knowledge", "talks")

    assert "cancelled 2 document(s)" in out
    assert Document.objects.get(pk=docs["queued"].pk).status == Status.REVOKED
    assert Document.objects.get(pk=docs["running"].pk).status == Status.REVOKE
    assert Document.objects.get(pk=docs["bad_media"].pk).status == Status.FAILURE


def test_reap_stuck_fails_a_document_whose_workers_keep_dying(docs, settings):
    running = docs["running"]
    for attempt in (1, 2):
        ProcessingRun.objects.create(document=running, attempt=attempt, task_id=running.task_id,
                                     outcome=RunOutcome.LOST, error_type="WorkerLost")  # fmt: skip
    ProcessingRun.objects.create(document=running, attempt=3, task_id=running.task_id)  # running when it died
    Document.objects.filter(pk=running.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))

    dry = run("reap_stuck", "--dry-run")
    out = run("reap_stuck")

    assert f"document {running.pk} would be failed" in dry
    running.refresh_from_db()
    assert running.status == Status.FAILURE and running.error.startswith("the worker was lost 3 times while")
    assert f"document {running.pk} failed" in out
    assert list(running.runs.values_list("outcome", flat=True)) == [RunOutcome.LOST] * 3


@pytest.mark.django_db(transaction=True)  # the HNSW index is created outside the test's transaction
def test_reindex_re_embeds_paragraphs_made_with_another_model(docs):
    done = docs["done"]
    texts = ["The dough rests for an hour.", "Jupiter is the largest planet."]
    for i, text in enumerate(texts):
        Paragraph.objects.create(document=done, knowledge_base=done.knowledge_base, position=i, content=text,
                                 start=i, end=i + 1, embedding=np.ones(8), embedding_model="old-model",
                                 embedding_dimensions=8)  # fmt: skip

    out = run("reindex")
    again = run("reindex")

    model = embeddings.model_name()
    assert f"knowledge base {done.knowledge_base.name!r}: 2 paragraph(s) re-embedded with {model} (512" in out
    assert "re-embedded 0 paragraph(s)" in again
    done.knowledge_base.refresh_from_db()
    assert (done.knowledge_base.embedding_model, done.knowledge_base.embedding_dimensions) == (model, 512)
    stored = list(done.paragraphs.order_by("position"))
    assert {p.embedding_model for p in stored} == {model}
    assert np.allclose(np.array([p.embedding for p in stored]), embeddings.embed(texts, model), atol=1e-5)


@pytest.mark.django_db(transaction=True)  # the file is deleted when the deletion commits
def test_originals_are_deleted_with_their_document_and_after_the_retention_period(docs, api, user):
    from knowledge.retention import purge_originals

    gone, kept, old = docs["bad_media"], docs["queued"], docs["done"]
    KnowledgeBase.objects.update(owner=user)
    paths = {name: doc.file.path for name, doc in docs.items()}
    Document.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=40))

    deleted = api.delete(f"/api/knowledge/document/{gone.pk}/")
    purged = purge_originals(days=30)
    audio = api.get(f"/api/knowledge/document/{old.pk}/audio/")

    assert deleted.status_code == 204 and not os.path.exists(paths["bad_media"])
    assert purged == 1 and not os.path.exists(paths["done"]) and audio.status_code == 410
    assert os.path.exists(paths["queued"]) and Document.objects.get(pk=kept.pk).file
    assert Document.objects.get(pk=old.pk).file == "" and Document.objects.get(pk=old.pk).status == Status.SUCCESS


def test_the_embedded_server_is_configured_before_it_starts(tmp_path, monkeypatch):
    from settings import embedded

    (tmp_path / "postgresql.conf").write_text("shared_buffers = 128MB\n")
    monkeypatch.setenv("EMBEDDED_PG_SHARED_BUFFERS", "512MB")
    embedded._configure(tmp_path)
    embedded._configure(tmp_path)  # again: included once

    conf = (tmp_path / "postgresql.conf").read_text()
    assert conf.count(embedded.INCLUDE) == 1 and conf.rstrip().endswith(embedded.INCLUDE)
    assert (tmp_path / "knowledge.conf").read_text() == "shared_buffers = '512MB'\n"
    monkeypatch.setenv("EMBEDDED_PG_SHARED_BUFFERS", "1GB'; evil = 'x")
    assert embedded.postgres_conf() == {"shared_buffers": "256MB"}


def test_the_suites_embedded_server_runs_with_the_projects_settings(db, settings):
    from django.db import connection

    from settings import embedded

    if not settings.EMBEDDED_POSTGRES:
        pytest.skip("DATABASE_URL names another server")
    with connection.cursor() as cur:
        cur.execute("SELECT pg_reload_conf()")
        time.sleep(0.5)
        cur.execute("SELECT pg_size_pretty(setting::bigint * 8192), pending_restart FROM pg_settings "
                    "WHERE name = 'shared_buffers'")  # fmt: skip
        size, pending = cur.fetchone()
    # as configured, or (a server started before the setting changed) taking it at its next start
    assert size.replace(" ", "") == embedded.postgres_conf()["shared_buffers"] or pending


def test_importing_the_settings_starts_no_service(tmp_path):
    """`manage.py embedded stop` on a stopped machine, and commands that need no database or
    broker, start neither: PostgreSQL starts on a first connection, Redis on a first broker use."""
    import subprocess
    import sys

    from tests.processes import ROOT

    env = {**os.environ, "VAR_DIR": str(tmp_path / "var"), "DJANGO_SETTINGS_MODULE": "settings.settings"}
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"):
        env.pop(name, None)
    for command, said in ((["embedded", "stop"], "embedded services stopped"),
                          (["worker", "--role", "index", "--print"], "-Q index ")):  # fmt: skip
        done = subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0 and said in done.stdout, done.stderr
    left = sorted(p.name for p in (tmp_path / "var").iterdir())
    assert not [name for name in left if name == "pg" or name.startswith("redis")], left


def test_the_suite_runs_on_its_own_database(db):
    """The embedded backend fills in only where the server listens, never the database's name."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT current_database()")
        assert cur.fetchone()[0].startswith("test_") and connection.settings_dict["HOST"]
