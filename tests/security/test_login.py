"""Sign-in throttling (item 15): the login form (and so the admin's) and the API token endpoint
took unlimited password guesses. After LOGIN_FAILURE_LIMIT failures a user name is locked out
from that address, even with the right password, while other users sign in as usual."""

import re

import pytest

from tests.security.conftest import LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def live(django_db_setup, tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("live"), LOGIN_FAILURE_LIMIT="3", LOGIN_COOLOFF_MINUTES="10")
    yield server
    server.stop()


def sign_in(server, username: str, password: str):
    with server.client(follow_redirects=False) as browser:
        page = browser.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        return browser.post("/accounts/login/", data={"username": username, "password": password,
                                                       "csrfmiddlewaretoken": token})  # fmt: skip


def test_the_sign_in_form_locks_a_user_out_after_repeated_failures(people):
    server = people.server

    guesses = [sign_in(server, "alice", f"guess-{i}") for i in range(3)]
    right_but_locked = sign_in(server, "alice", "pw-alice-1234")
    others = sign_in(server, "bob", "pw-bob-1234")

    assert [g.status_code for g in guesses] == [200, 200, 429]  # the form with its error; the third locks
    assert right_but_locked.status_code == 429 and "try again in 10 minutes" in right_but_locked.text
    assert "sessionid" not in right_but_locked.cookies
    assert others.status_code == 302 and "sessionid" in others.cookies


def test_the_token_endpoint_locks_out_the_same_way(people):
    with people.server.client() as anonymous:
        fine = anonymous.post("/api/auth/token/", json={"username": "carol", "password": "pw-carol-1234"})
        guesses = [anonymous.post("/api/auth/token/", json={"username": "alice", "password": f"x{i}"})
                   for i in range(3)]  # fmt: skip
        locked = anonymous.post("/api/auth/token/", json={"username": "alice", "password": "pw-alice-1234"})
        again = anonymous.post("/api/auth/token/", json={"username": "carol", "password": "pw-carol-1234"})

    assert fine.status_code == 200 and fine.json()["token"] == people.tokens["carol"], fine.text
    assert [g.status_code for g in guesses] == [400, 400, 429] and guesses[0].json()["code"] == "invalid_credentials"
    assert locked.status_code == 429 and locked.json()["code"] == "throttled" and "Retry-After" in locked.headers
    assert again.status_code == 200 and again.json()["token"] == people.tokens["carol"]
