"""The stage payload: what one stage's message carries to the next, typed and versioned."""

import json

import pytest

from core.errors import RetryableError
from media_learning.pipeline.payload import VERSION, NewerPayload, StagePayload
from media_learning.pipeline.split import ParagraphDraft

DRAFTS = (
    ParagraphDraft("今天我们讨论预算。", 0.0, 4.2, speaker="SPEAKER_1"),
    ParagraphDraft("Next, the roadmap.", 4.2, 9.9),
)


def test_a_payload_survives_its_message_as_json():
    payload = StagePayload(run_id=7, language="zh", duration=9.9, warnings=("no speech in the last minute",),
                           drafts=DRAFTS, summary="预算与路线图", llm_usage={"prompt_tokens": 12})  # fmt: skip

    message = json.loads(json.dumps(payload.to_message()))

    assert message["version"] == VERSION and message["found"] == {"language": "zh", "duration": 9.9}
    assert StagePayload.from_message(message) == payload


def test_a_message_queued_before_payloads_had_versions_still_reads():
    old = {"run_id": 3, "warnings": ["w"], "found": {"language": "en", "duration": 12.5}, "timestamps": False,
           "diarize": False, "summary": "", "llm_usage": {},
           "drafts": [{"content": "Hello.", "start": 0.0, "end": 1.0, "raw_content": "", "kind": "transcript",
                       "speaker": ""}]}  # fmt: skip

    payload = StagePayload.from_message(old)

    assert (payload.run_id, payload.language, payload.duration, payload.timestamps) == (3, "en", 12.5, False)
    assert payload.warnings == ("w",) and payload.drafts == (ParagraphDraft("Hello.", 0.0, 1.0),)


def test_an_uncut_transcript_sends_no_drafts_and_a_newer_message_waits_for_a_newer_worker():
    message = StagePayload(run_id=1, diarize=True).to_message()
    assert "drafts" not in message and StagePayload.from_message(message).drafts == ()

    with pytest.raises(NewerPayload, match="upgrade the worker") as newer:
        StagePayload.from_message({**message, "version": VERSION + 1})
    assert isinstance(newer.value, RetryableError)


def test_changes_make_a_new_payload_with_tuples():
    first = StagePayload(run_id=1)
    second = first.but(warnings=["a"], drafts=list(DRAFTS))

    assert first.warnings == () and second.warnings == ("a",) and second.drafts == DRAFTS
