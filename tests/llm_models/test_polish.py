"""The LLM step against a real OpenAI-compatible HTTP server on loopback: chunking to the
context window, timestamps kept, raw text kept, summaries, and the failure policy."""

from __future__ import annotations

import re

import pytest

from llm_models.providers.openai_chat import ChatClient
from media_learning.pipeline import polish
from media_learning.pipeline.split import ParagraphDraft, build_paragraphs
from stt_models.providers.base import Segment
from tests.conftest import KEY_ENV, reference_text
from tests.llm_models.chat_server import ChatServer, count_tokens


def raw_segments(text: str, seconds_per_word: float = 0.4) -> list[Segment]:
    """Whisper-like segments of lower-case, unpunctuated sentences with real-looking times."""
    segments, clock = [], 0.0
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        words = re.sub(r"[^\w\s']", "", sentence).lower().split()
        if words:
            end = clock + seconds_per_word * len(words)
            segments.append(Segment(start=round(clock, 2), end=round(end, 2), text=" ".join(words)))
            clock = end + 0.3
    return segments


def lecture_drafts(repeat: int = 1) -> list[ParagraphDraft]:
    text = " ".join([reference_text("lecture_60s_en")] * repeat)
    return build_paragraphs(raw_segments(text), max_chars=300, min_chars=100)


def client_for(server: ChatServer, **kwargs) -> ChatClient:
    settings = {"timeout": 1.0, "max_tokens": 512, "context_window": 4096, "backoff": 0.01, **kwargs}
    return ChatClient(model="editor-1", base_url=server.base_url, api_key="test-llm-key", key_source=KEY_ENV,
                      **settings)  # fmt: skip


def test_polish_keeps_every_timestamp_and_the_raw_text(chat_server):
    drafts = lecture_drafts()
    fractions: list[float] = []
    with client_for(chat_server) as client:
        outcome = polish.polish_and_summarize(client, drafts, "en", on_progress=fractions.append)

    assert outcome.warnings == []
    assert [(d.start, d.end) for d in outcome.drafts] == [(d.start, d.end) for d in drafts]
    assert [d.raw_content for d in outcome.drafts] == [d.content for d in drafts]
    for draft in outcome.drafts:
        assert draft.content[0].isupper() and draft.content.endswith((".", "!", "?")), draft.content
    assert outcome.summary.startswith("Summary: ")
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    usage = client.usage.as_dict()
    assert usage["prompt_tokens"] == chat_server.answered_tokens["prompt"] > 0
    assert usage["completion_tokens"] == chat_server.answered_tokens["completion"] > 0
    assert usage["requests"] == len(chat_server.requests) and usage["failed_requests"] == 0


def test_long_transcript_is_sent_in_chunks_that_fit_the_context(chat_server):
    chat_server.context_window = 1024
    drafts = lecture_drafts(repeat=8)  # ~1,500 words: several times what one request may hold
    with client_for(chat_server, max_tokens=256, context_window=1024) as client:
        outcome = polish.polish_and_summarize(client, drafts, "en")

    assert outcome.warnings == []
    assert len(chat_server.polish_requests()) >= 5
    assert len(chat_server.summary_requests()) >= 3  # summaries of the parts, then one that merges them
    assert chat_server.largest_request <= 1024
    sent = [item["id"] for r in chat_server.polish_requests() for item in _paragraphs(r)]
    assert sent == list(range(len(drafts)))  # every paragraph once, in order
    assert [(d.start, d.end) for d in outcome.drafts] == [(d.start, d.end) for d in drafts]
    assert all(d.raw_content for d in outcome.drafts)


def _paragraphs(request: dict) -> list[dict]:
    import json

    return json.loads(request["messages"][-1]["content"])["paragraphs"]


@pytest.mark.parametrize("failures", [[500, 429], ["slow"], ["malformed", 503]])
def test_transient_failures_are_retried(chat_server, failures):
    chat_server.slow_seconds = 1.5  # past the client's 1 s timeout
    chat_server.script = list(failures)
    drafts = lecture_drafts()[:2]
    with client_for(chat_server) as client:
        outcome = polish.polish_and_summarize(client, drafts, "en", summary=False)

    assert outcome.warnings == []
    assert all(d.raw_content for d in outcome.drafts)
    assert len(chat_server.requests) == len(failures) + 1
    assert client.usage.failed_requests == len(failures)


def test_llm_still_failing_after_three_tries_keeps_the_raw_transcript(chat_server):
    chat_server.script = [500, 502, 500]
    drafts = lecture_drafts()
    with client_for(chat_server) as client:
        outcome = polish.polish_and_summarize(client, drafts, "en")

    assert len(chat_server.requests) == 3  # three tries, then nothing more (no summary attempt)
    assert [d.content for d in outcome.drafts] == [d.content for d in drafts]
    assert [d.raw_content for d in outcome.drafts] == [""] * len(drafts)
    assert outcome.summary == ""
    (warning,) = outcome.warnings
    assert "failed 3 times" in warning and "HTTP 500" in warning and "no summary" in warning
    assert f"paragraphs 1-{len(drafts)} kept as transcribed" in warning


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"api_key": "wrong"}, f"rejected the key from {KEY_ENV} (401)"),
        ({"model": "no-such-model"}, "does not know model 'no-such-model' (404)"),
    ],
)
def test_configuration_errors_fail_at_once_with_a_clear_reason(chat_server, change, expected):
    drafts = lecture_drafts()[:2]
    settings = {"model": "editor-1", "api_key": "test-llm-key", **change}
    with ChatClient(base_url=chat_server.base_url, key_source=KEY_ENV, timeout=1.0, backoff=0.01,
                    **settings) as client:  # fmt: skip
        outcome = polish.polish_and_summarize(client, drafts, "en")

    assert chat_server.attempts == 1  # no retries
    (warning,) = outcome.warnings
    assert expected in warning
    assert "wrong" not in warning and "test-llm-key" not in warning
    assert [d.content for d in outcome.drafts] == [d.content for d in drafts]


def test_unusable_answer_keeps_those_paragraphs_as_transcribed(chat_server):
    chat_server.script = ["unusable", "unusable"]  # both tries of the first chunk
    drafts = lecture_drafts()
    with client_for(chat_server) as client:
        outcome = polish.polish_and_summarize(client, drafts, "en", summary=False)

    assert len(chat_server.polish_requests()) == 2
    assert outcome.drafts[0].content == drafts[0].content and outcome.drafts[0].raw_content == ""
    (warning,) = outcome.warnings
    assert re.search(r"unusable for \d+ paragraph", warning)


def test_chinese_transcript_gets_chinese_prompts_and_punctuation(chat_server):
    drafts = [
        ParagraphDraft(content="今天我们讨论数据库如何存储和查找信息", start=0.0, end=4.2),
        ParagraphDraft(content="索引让数据库不必读取每一页就能找到一行", start=4.5, end=9.0),
    ]
    with client_for(chat_server) as client:
        outcome = polish.polish_and_summarize(client, drafts, "zh", summary_prompt="请用一句话总结。")

    polish_system = chat_server.polish_requests()[0]["messages"][0]["content"]
    summary_system = chat_server.summary_requests()[0]["messages"][0]["content"]
    assert "标点符号" in polish_system
    assert summary_system.startswith("请用一句话总结。")
    assert [d.content for d in outcome.drafts] == [d.content + "。" for d in drafts]
    assert [(d.start, d.end) for d in outcome.drafts] == [(0.0, 4.2), (4.5, 9.0)]
    assert outcome.summary.startswith("摘要：")


def test_token_estimate_is_never_below_a_real_count():
    for text in [reference_text("lecture_60s_en"), "今天我们讨论数据库如何存储和查找信息。" * 20]:
        from llm_models.tokens import estimate_tokens

        assert estimate_tokens(text) >= count_tokens(text)
