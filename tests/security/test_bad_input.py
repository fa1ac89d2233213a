"""Inputs that were 500s (item 13): Unicode digits that ``isdigit()`` accepts and ``int()``
refuses, an offset PostgreSQL refuses, JSON nested 5,000 deep; and ``?wait=0``, which waited
with no deadline. Each must answer at once with a 400 in the JSON error envelope (or, for a
valid time, 200)."""

import time

import pytest

from tests.conftest import fixture_path
from tests.security.conftest import knowledge_base

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def envelope(response, code: str = "invalid") -> bool:
    body = response.json()
    return response.status_code == 400 and body["code"] == code and isinstance(body["detail"], str)


def test_unicode_digits_are_a_400_not_a_500(people):
    kb = knowledge_base(people.alice, "digits")
    audio = {"file": ("a.mp3", fixture_path("jupiter_en.mp3").read_bytes())}
    upload = f"/api/knowledge/{kb}/document/"

    answers = {
        "wait": people.alice.post(f"{upload}?wait=²", files=audio),
        "stt_model_id": people.alice.post(upload, files=audio, data={"stt_model_id": "²"}),
        "llm_model_id": people.alice.post(upload, files=audio, data={"llm_model_id": "٣"}),
        "huge id": people.alice.post(upload, files=audio, data={"stt_model_id": "9" * 30}),
    }
    doc = people.alice.post(upload, files=audio).json()["documents"][0]["id"]
    answers["sample_rate"] = people.alice.get(f"/api/knowledge/document/{doc}/audio/", params={"sample_rate": "¹⁶"})
    listed = people.alice.get("/api/knowledge/document/", params={"stt_model": "²"})

    for what, response in answers.items():
        assert envelope(response), (what, response.status_code, response.text[:300])
    assert "stt_model_id" in answers["stt_model_id"].json()["errors"]
    assert listed.status_code == 200 and listed.json()["count"] == 0


def test_time_offsets_postgresql_refuses_are_converted_or_refused(people):
    listing = "/api/knowledge/document/"

    far_offset = people.alice.get(listing, params={"created_after": "2026-01-01T00:00:00+23:30"})
    before_the_calendar = people.alice.get(listing, params={"created_before": "0001-01-01T00:00:00+01:00"})

    assert far_offset.status_code == 200 and far_offset.json()["count"] == 0, far_offset.text[:300]
    assert envelope(before_the_calendar), before_the_calendar.text[:300]


def test_json_nested_thousands_deep_is_a_400(people):
    deep = "[" * 5000 + "]" * 5000

    for path in ("/api/knowledge/", "/api/knowledge/document/"):
        response = people.alice.post(path, content=deep, headers={"Content-Type": "application/json"})
        assert envelope(response, "parse_error"), (path, response.status_code, response.text[:300])


def test_wait_zero_answers_at_once(people):
    kb = knowledge_base(people.alice, "impatient")
    audio = {"file": ("a.mp3", fixture_path("jupiter_en.mp3").read_bytes())}

    started = time.monotonic()
    response = people.alice.post(f"/api/knowledge/{kb}/document/?wait=0", files=audio, timeout=15)
    elapsed = time.monotonic() - started

    assert response.status_code == 202 and elapsed < 5, (response.status_code, elapsed)  # no worker: not finished
    assert response.json()["documents"][0]["status"] == "PENDING"
