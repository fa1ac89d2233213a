"""Webhooks (item 4): the target was checked, then httpx resolved the name again, so a DNS
answer that changed in between (rebinding) delivered a signed POST to 127.0.0.1. And the
signature covered the body alone: a captured delivery could be replayed at any time."""

import hashlib
import hmac
import json
import socket
import time

import pytest

from knowledge.models import Status, WebhookDelivery
from tests.conftest import fixture_path
from tests.security.attacker import RecordingServer

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

HOST = "hooks.example.test"
SECRET = "receiver-shared-secret-42"


@pytest.fixture
def receivers():
    """The receiver the user named (127.0.0.2, allowed) and an internal service on the same port
    of 127.0.0.1, where a rebinding answer points."""
    with RecordingServer(host="127.0.0.2") as receiver, RecordingServer(port=receiver.port) as internal:
        yield receiver, internal


@pytest.fixture
def rebinding_dns(monkeypatch, receivers):
    """A resolver for HOST that answers the allowed address once, then 127.0.0.1 (the attacker's
    DNS with a TTL of zero); other names resolve as usual. The suite's worker runs in this process."""
    real, answers = socket.getaddrinfo, ["127.0.0.2"]

    def getaddrinfo(host, port, *args, **kwargs):
        if host != HOST:
            return real(host, port, *args, **kwargs)
        address = answers.pop(0) if answers else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port)))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_a_rebinding_name_cannot_move_a_delivery_to_an_internal_address(people, celery_worker, receivers,
                                                                         rebinding_dns, settings):  # fmt: skip
    receiver, internal = receivers
    settings.URL_FETCH_ALLOWLIST = [f"127.0.0.2:{receiver.port}"]
    hook = f"http://{HOST}:{receiver.port}/hook"
    kb = people.alice.post("/api/knowledge/", json={"name": "hooked", "callback_url": hook,
                                                     "webhook_secret": SECRET}).json()["id"]  # fmt: skip

    files = {"file": ("a.mp3", fixture_path("jupiter_en.mp3").read_bytes())}
    doc = people.alice.post(f"/api/knowledge/{kb}/document/?wait=120", files=files).json()["documents"][0]
    deadline = time.monotonic() + 30
    while not WebhookDelivery.objects.filter(document_id=doc["id"]).exists() and time.monotonic() < deadline:
        time.sleep(0.1)

    assert doc["status"] == Status.SUCCESS
    assert internal.requests == []
    (delivered,) = receiver.requests
    assert delivered["headers"]["Host"] == f"{HOST}:{receiver.port}"
    assert WebhookDelivery.objects.get(document_id=doc["id"]).delivered


def test_a_delivery_is_signed_over_its_timestamp_and_names_its_event(people, celery_worker, receivers, settings):
    receiver, _ = receivers
    settings.URL_FETCH_ALLOWLIST = [f"127.0.0.2:{receiver.port}"]
    kb = people.alice.post("/api/knowledge/", json={"name": "signed", "callback_url": f"{receiver.root}/hook",
                                                     "webhook_secret": SECRET}).json()["id"]  # fmt: skip
    files = {"file": ("a.mp3", fixture_path("jupiter_en.mp3").read_bytes())}

    people.alice.post(f"/api/knowledge/{kb}/document/?wait=120", files=files)
    deadline = time.monotonic() + 30
    while not receiver.requests and time.monotonic() < deadline:
        time.sleep(0.1)

    (request,) = receiver.requests
    headers, body = request["headers"], request["body"]
    timestamp, event = headers["X-Webhook-Timestamp"], headers["X-Webhook-Id"]
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert headers["X-Signature"] == f"sha256={expected}"
    assert abs(int(timestamp) - time.time()) < 60 and json.loads(body)["webhook_id"] == event
    # the body alone, as the old signature was made, no longer verifies: a replay needs a fresh timestamp
    assert headers["X-Signature"] != "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
