"""What every LLM provider returns and raises."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.errors import RetryableError, UserError


class LlmError(Exception):
    """The LLM did not answer; ``str(exc)`` is a one-line reason for the user."""


class LlmRefused(LlmError, UserError):
    """Permanent: the request cannot succeed as configured (bad key, unknown model, bad request)."""

    code = "llm_failed"


class LlmUnavailable(LlmError, RetryableError):
    """The LLM kept failing in a way worth retrying (timeout, 429, 5xx, malformed answer)."""

    code = "llm_unavailable"


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0
    failed_requests: int = 0

    def add(self, other: Usage) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.requests += other.requests
        self.failed_requests += other.failed_requests

    def as_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "requests": self.requests,
            "failed_requests": self.failed_requests,
        }


@dataclass
class ChatResult:
    text: str
    finish_reason: str = ""
    usage: Usage = field(default_factory=Usage)
