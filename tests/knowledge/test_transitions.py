from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from knowledge import transitions
from knowledge.models import Document, KnowledgeBase, Stage, Status
from tests.factories import DocumentFactory


@pytest.fixture
def document(db):
    kb = KnowledgeBase.objects.create(name="kb")
    doc = DocumentFactory.build(knowledge_base=kb, name="a.mp3", task_id="task-1")
    doc.file.save("a.mp3", ContentFile(b"x"), save=True)
    return doc


def fresh(doc):
    return Document.objects.get(pk=doc.pk)


def test_claim_moves_pending_to_started_transcribing_once(document):
    assert transitions.claim(document.pk, "task-1") is True
    assert transitions.claim(document.pk, "task-2") is False

    doc = fresh(document)
    assert (doc.status, doc.stage, doc.task_id) == (Status.STARTED, Stage.TRANSCRIBING, "task-1")
    assert "STARTED" in doc.status_meta and doc.heartbeat_at is not None


def test_same_task_reclaims_only_once_the_lease_is_free(document, settings):
    transitions.claim(document.pk, "task-1")

    while_running = transitions.claim(document.pk, "task-1")  # a duplicate of a live run
    held = transitions.held_by_live_run(document.pk, "task-1")
    transitions.release(document.pk, "task-1")  # what a run does before its retry
    after_release = transitions.claim(document.pk, "task-1")
    Document.objects.filter(pk=document.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=16))
    after_worker_died = transitions.claim(document.pk, "task-1")  # heartbeat older than HEARTBEAT_LEASE (15 s)
    other_task = transitions.claim(document.pk, "task-2")

    assert (while_running, held, after_release, after_worker_died, other_task) == (False, True, True, True, False)


def test_report_updates_progress_stage_and_clamps(document):
    transitions.claim(document.pk, "task-1")

    transitions.report(document.pk, "task-1", stage=Stage.INDEXING, progress=1.7, language="en")

    doc = fresh(document)
    assert (doc.stage, doc.progress, doc.language) == (Stage.INDEXING, 1.0, "en")


def test_report_after_cancel_raises_cancelled_then_worker_revokes(document):
    transitions.claim(document.pk, "task-1")
    assert transitions.cancel(document.pk) == Status.REVOKE

    with pytest.raises(transitions.Cancelled):
        transitions.report(document.pk, "task-1", progress=0.5)
    assert transitions.acknowledge_cancel(document.pk) is True
    assert fresh(document).status == Status.REVOKED


def test_report_by_other_task_raises_claim_lost(document):
    transitions.claim(document.pk, "task-1")

    with pytest.raises(transitions.ClaimLost):
        transitions.report(document.pk, "task-other", progress=0.5)


def test_cancel_pending_revokes_at_once_and_terminal_cannot_cancel(document):
    assert transitions.cancel(document.pk) == Status.REVOKED
    assert transitions.cancel(document.pk) is None
    assert fresh(document).status_meta.keys() >= {"REVOKED"}


def test_fail_stores_one_line_error_and_succeed_cannot_follow(document):
    transitions.claim(document.pk, "task-1")

    assert transitions.fail(document.pk, "bad\nthing   happened\n" + "x" * 900, "task-1") is True
    assert transitions.succeed(document.pk, "task-1") is False

    doc = fresh(document)
    assert doc.status == Status.FAILURE
    assert "\n" not in doc.error and doc.error.startswith("bad thing happened") and len(doc.error) <= 500


def test_reprocess_only_from_failure_or_revoked(document):
    assert transitions.reset_for_reprocess(document.pk, "task-2") is False  # still PENDING
    transitions.claim(document.pk, "task-1")
    transitions.fail(document.pk, "boom", "task-1")

    assert transitions.reset_for_reprocess(document.pk, "task-2") is True

    doc = fresh(document)
    assert (doc.status, doc.error, doc.progress, doc.task_id) == (Status.PENDING, "", 0.0, "task-2")
    assert set(doc.status_meta) >= {"PENDING", "STARTED", "FAILURE"}


def test_succeed_sets_full_progress(document):
    transitions.claim(document.pk, "task-1")

    assert transitions.succeed(document.pk, "task-1") is True

    doc = fresh(document)
    assert (doc.status, doc.stage, doc.progress) == (Status.SUCCESS, Stage.NONE, 1.0)
