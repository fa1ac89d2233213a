"""A finishing document wakes whoever waits for it at once (PostgreSQL LISTEN/NOTIFY), and only
once its row says so (the notice goes out on commit)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from knowledge import finish_notice, ingest, transitions
from knowledge.models import Status
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db(transaction=True)


def finish_later(document_id: int, after: float, *, inside: float = 0.0) -> threading.Thread:
    """Fail the document from another connection after ``after`` s; the transaction stays open
    ``inside`` s after the move."""

    def run() -> None:
        time.sleep(after)
        try:
            with transaction.atomic():
                transitions.fail(document_id, "stopped by the test")
                time.sleep(inside)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_finished_document_ends_the_sleep_at_once():
    document = DocumentFactory(status=Status.STARTED)
    with finish_notice.Listener() as listener:
        assert listener.listening
        thread = finish_later(document.pk, 0.3)
        started = time.monotonic()
        listener.sleep(10.0)
        woke = time.monotonic() - started
    thread.join(5)
    assert 0.25 < woke < 3.0


def test_the_notice_comes_on_commit_not_before():
    document = DocumentFactory(status=Status.STARTED)
    with finish_notice.Listener() as listener:
        thread = finish_later(document.pk, 0.1, inside=1.0)
        started = time.monotonic()
        listener.sleep(10.0)
        woke = time.monotonic() - started
    thread.join(5)
    assert woke > 1.0  # the transition's transaction was still open for a second
    document.refresh_from_db()
    assert document.status == Status.FAILURE


def test_waiting_for_a_document_listens_and_returns_it_finished(monkeypatch):
    slept: list[float] = []
    real = finish_notice.Listener.sleep

    def sleep(self, seconds):
        assert self.listening
        slept.append(seconds)
        real(self, 10.0)  # as if the next look were 10 s away: only the notice ends it early

    monkeypatch.setattr(finish_notice.Listener, "sleep", sleep)
    document = DocumentFactory(status=Status.STARTED)
    thread = finish_later(document.pk, 0.5)
    started = time.monotonic()
    [done] = ingest.wait_until_finished([document.pk], timeout=20)
    waited = time.monotonic() - started
    thread.join(5)
    assert done.status == Status.FAILURE and done.error == "stopped by the test"
    assert slept and waited < 3.0


def test_inside_a_transaction_it_falls_back_to_looking():
    with transaction.atomic(), finish_notice.Listener() as listener:
        assert not listener.listening  # LISTEN would start only at commit
        started = time.monotonic()
        listener.sleep(0.2)
        assert time.monotonic() - started >= 0.19
