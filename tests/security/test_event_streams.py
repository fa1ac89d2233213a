"""Server-sent events (item 6): 16 open /events/ streams took every web thread, and the page,
the API and sign-in all timed out; the web page opened one stream per upload, so dropping ten
files stalled it (browsers allow about six connections per host). Streams now have their own
bounded share of each web process, a cap per user, and one stream follows many documents."""

import json
import socket
import time

import httpx
import pytest

from knowledge.models import Document, KnowledgeBase, Status
from tests.factories import DocumentFactory
from tests.security.conftest import LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def live(django_db_setup, tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("live"), workers=2)  # as `serve` runs it: 2 x 8 threads
    yield server
    server.stop()


def pending(user, count: int = 1) -> list[int]:
    """Documents that stay PENDING (nothing queues them), so their streams stay open."""
    kb = KnowledgeBase.objects.create(name=f"waiting {user.username} {time.monotonic_ns()}", owner=user)
    return [DocumentFactory(knowledge_base=kb, name=f"{i}.mp3").pk for i in range(count)]


def open_stream(server, token: str, path: str) -> tuple[socket.socket, int | None]:
    """A stream as a browser holds it: the socket stays open; the status code, or None when the
    server never answered."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token {token}\r\n"
                 "Accept: text/event-stream\r\n\r\n".encode())  # fmt: skip
    try:
        return sock, int(sock.recv(4096).split(b" ", 2)[1])
    except (TimeoutError, IndexError, ValueError):
        return sock, None


def timed(call) -> tuple[int, float]:
    started = time.monotonic()
    try:
        status = call().status_code
    except httpx.HTTPError:
        status = 0
    return status, time.monotonic() - started


def test_sixteen_open_streams_leave_the_page_the_api_and_sign_in_working(people):
    server = people.server
    streams = []
    for name in ("alice", "bob", "carol", "staffer"):
        (doc,) = pending(people.users[name])
        streams += [(name, *open_stream(server, people.tokens[name], f"/api/knowledge/document/{doc}/events/"))
                    for _ in range(4)]  # fmt: skip
    try:
        with server.client(timeout=10) as anonymous:
            page = timed(lambda: anonymous.get("/accounts/login/"))
            sign_in = timed(lambda: anonymous.post("/api/auth/token/", json={"username": "bob",
                                                                             "password": "pw-bob-1234"}))  # fmt: skip
        api = timed(lambda: people.alice.get("/api/knowledge/", timeout=10))
    finally:
        for _, sock, _ in streams:
            sock.close()

    codes = [code for _, _, code in streams]
    assert None not in codes, codes  # every stream was answered, at once
    assert 1 <= codes.count(200) <= 8, codes  # at most EVENTS_MAX_STREAMS (4) in each of the 2 processes
    for name in ("alice", "bob", "carol", "staffer"):
        assert [code for who, _, code in streams if who == name].count(200) <= 3  # EVENTS_MAX_PER_USER
    assert set(codes) <= {200, 429, 503}, codes
    for status, seconds in (page, sign_in, api):
        assert status == 200 and seconds < 5, (page, sign_in, api)


def open_when_a_process_has_room(people, path):
    """A stream of alice's; a 503 (the web process is still full with streams whose clients left,
    such as the test before's, for up to KEEPALIVE_SECONDS) is tried again, as the page does."""
    deadline = time.monotonic() + 30
    while True:
        sock, code = open_stream(people.server, people.tokens["alice"], path)
        if code != 503 or time.monotonic() > deadline:
            return sock, code
        sock.close()
        time.sleep(1)


def test_a_closed_stream_gives_its_slot_back(people):
    (doc,) = pending(people.users["alice"])
    path = f"/api/knowledge/document/{doc}/events/"
    held = [open_when_a_process_has_room(people, path) for _ in range(3)]
    refused = open_when_a_process_has_room(people, path)  # a full process answers 503 before the user's 429
    for sock, _ in held:
        sock.close()

    deadline, again = time.monotonic() + 30, None
    while time.monotonic() < deadline:
        sock, again = open_stream(people.server, people.tokens["alice"], path)
        sock.close()
        if again == 200:
            break
        time.sleep(1)

    assert [code for _, code in held] == [200, 200, 200] and refused[1] == 429
    assert again == 200  # the slots came back once the server noticed the clients were gone
    refused[0].close()


def test_one_stream_follows_many_documents_to_the_end(people):
    ids = pending(people.users["alice"], 10)
    (foreign,) = pending(people.users["bob"])
    received: list[tuple[str, dict]] = []

    query = ",".join(map(str, [*ids, foreign]))
    cancelled = False
    with people.alice.stream("GET", f"/api/knowledge/document/events/?id={query}", timeout=60) as response:
        event = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                received.append((event, json.loads(line.removeprefix("data: "))))
                if not cancelled and len([e for e, _ in received if e == "status"]) == len(ids):
                    cancelled = True  # each one's first state has arrived: now cancel them all
                    answers = [people.alice.post(f"/api/knowledge/document/{doc}/cancel/") for doc in ids]
                    assert [a.status_code for a in answers] == [202] * len(ids)
        status = response.status_code

    final = {data["id"]: data["status"] for event, data in received if event == "status"}
    assert status == 200 and final == {doc: Status.REVOKED for doc in ids}
    assert ("deleted", {"id": foreign}) in received  # another user's document does not exist here
    assert Document.objects.get(pk=foreign).status == Status.PENDING
