"""/api/health/ (item 14): every anonymous request broadcast to every worker and waited a
second for their replies, unthrottled: a cheap way to keep the broker and the web threads busy.
Anonymous callers now get liveness alone; the details need staff or the monitors' token and
are computed once per HEALTH_CACHE_SECONDS."""

import time

import httpx
import pytest

from tests.security.conftest import LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TOKEN = "monitor-token-5c1e88aa"


@pytest.fixture(scope="module")
def live(django_db_setup, tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("live"), HEALTH_TOKEN=TOKEN, HEALTH_CACHE_SECONDS="30")
    yield server
    server.stop()


def test_anonymous_health_is_a_cheap_liveness_answer(live):
    started = time.monotonic()
    answers = [httpx.get(f"{live.root}/api/health/", timeout=10) for _ in range(20)]
    elapsed = time.monotonic() - started

    assert {a.status_code for a in answers} == {200} and {a.json()["status"] for a in answers} == {"ok"}
    assert {tuple(a.json()) for a in answers} == {("status", "ready")}  # whether it is ready, never why
    assert elapsed < 8, elapsed  # no worker broadcast behind any of them (that waited 1 s each)


def test_details_need_staff_or_the_token_and_are_cached(people):
    wrong = httpx.get(f"{people.server.root}/api/health/", headers={"Authorization": "Bearer guess"}, timeout=10)
    user = people.alice.get("/api/health/")
    first = people.staffer.get("/api/health/")
    started = time.monotonic()
    again = httpx.get(f"{people.server.root}/api/health/", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    cached_in = time.monotonic() - started

    assert set(wrong.json()) == set(user.json()) == {"status", "ready"} and user.json()["status"] == "ok"
    assert {"database", "broker", "queue", "workers", "status"} <= set(first.json()), first.text
    assert again.json() == first.json() and cached_in < 0.5, cached_in  # the same details, not measured again
