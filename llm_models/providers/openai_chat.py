"""The OpenAI chat completions API, spoken by OpenAI and by vLLM, Ollama, llama.cpp's server
and most other LLM servers.

httpx is used directly rather than the ``openai`` package so that the retry policy is ours and
exact: timeouts, connection errors, 408/429/5xx and malformed answers are retried with
exponential backoff and jitter (``Retry-After`` honoured), at most ``max_tries`` attempts in all;
other 4xx answers are configuration errors and fail at once with a clear reason. The API key is
read from the environment variable the model names; it is never stored, logged or shown. Every
request passes the address guard for model servers (``core.model_servers``).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Iterator
from typing import Any

import httpx

from core import model_servers
from core.model_servers import OPENAI_BASE_URL
from core.outbound import AddressRefused
from llm_models.providers.base import ChatResult, LlmRefused, LlmUnavailable, Usage

log = logging.getLogger(__name__)
RETRY_STATUSES = frozenset({408, 409, 425, 429})
MAX_RETRY_AFTER = 60.0


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return " ".join(response.text.split())[:200]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error)[:200]
    return str(error or body)[:200]


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(response.headers["retry-after"])))
    except (KeyError, ValueError):
        return None


def _parse(response: httpx.Response) -> ChatResult:
    """The answer's text and usage; ValueError when the body is not a chat completion."""
    body = response.json()
    choice = body["choices"][0]
    text = choice["message"]["content"]
    if not isinstance(text, str):
        raise ValueError("the answer has no text content")
    usage = body.get("usage") or {}
    return ChatResult(
        text=text,
        finish_reason=str(choice.get("finish_reason") or ""),
        usage=Usage(
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            requests=1,
        ),
    )


def _events(response: httpx.Response, result: ChatResult) -> Iterator[str]:
    """The text pieces of an OpenAI-style event stream (``data: {json}`` lines, ``data: [DONE]``
    at the end); the finish reason and usage go into ``result``. ValueError when a chunk is not
    JSON or the stream ends without [DONE] or a finish reason."""
    finished = False
    for line in response.iter_lines():
        if not line.startswith("data:"):
            continue  # comments (": keep-alive"), event names, blank separators
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            chunk = json.loads(data)
        except json.JSONDecodeError:
            raise ValueError("a chunk is not JSON") from None
        if not isinstance(chunk, dict):
            raise ValueError("a chunk is not an object")
        if isinstance(chunk.get("error"), dict):
            raise ValueError(str(chunk["error"].get("message") or "error")[:200])
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            result.usage.prompt_tokens = int(usage.get("prompt_tokens") or 0)
            result.usage.completion_tokens = int(usage.get("completion_tokens") or 0)
        for choice in chunk.get("choices") or []:
            if choice.get("finish_reason"):
                result.finish_reason = str(choice["finish_reason"])
                finished = True
            text = (choice.get("delta") or {}).get("content")
            if isinstance(text, str) and text:
                yield text
    if not finished:
        raise ValueError("the stream ended before the answer did")


class ChatClient:
    """One model's chat endpoint. ``usage`` adds up every request made through this client."""

    def __init__(self, *, model: str, base_url: str = "", api_key: str = "", key_source: str = "",
                 timeout: float = 120.0, max_tokens: int = 2048, context_window: int = 8192,
                 temperature: float | None = None,
                 extra: dict[str, Any] | None = None, max_tries: int = 3, backoff: float = 2.0,
                 completion_tokens_field: str = "max_tokens") -> None:  # fmt: skip
        self.model = model
        self.base_url = (base_url or OPENAI_BASE_URL).rstrip("/")
        self.key_source = key_source or "the environment"
        self.timeout = timeout
        self.max_tokens = max_tokens
        self.context_window = context_window
        self.temperature = temperature
        self.extra = dict(extra or {})
        self.max_tries = max(1, max_tries)
        self.backoff = backoff
        self.completion_tokens_field = completion_tokens_field
        self.usage = Usage()
        self.last = ChatResult(text="")  # the last streamed answer, complete
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = model_servers.http_client(headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        return self.backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.5)

    def _body(self, messages: list[dict[str, str]], max_tokens: int | None, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {**self.extra, "model": self.model, "messages": messages, "stream": stream}
        body[self.completion_tokens_field] = max_tokens or self.max_tokens
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if stream:  # the usage arrives in a last chunk (OpenAI, vLLM, Ollama, llama.cpp)
            body["stream_options"] = {"include_usage": True}
        return body

    def complete(self, messages: list[dict[str, str]], *, max_tokens: int | None = None) -> ChatResult:
        body = self._body(messages, max_tokens, stream=False)
        url = f"{self.base_url}/chat/completions"
        problem = ""
        for attempt in range(1, self.max_tries + 1):
            retry_after = None
            try:
                response = self._http.post(url, json=body)
            except (AddressRefused, httpx.TimeoutException, httpx.TransportError) as exc:
                problem = self._transport_problem(exc)
            else:
                if response.status_code == 200:
                    try:
                        result = _parse(response)
                    except (ValueError, KeyError, IndexError, TypeError) as exc:
                        problem = f"malformed answer ({type(exc).__name__})"
                    else:
                        self.usage.add(result.usage)
                        return result
                else:
                    problem, retry_after = self._refused_or_retry(response)
            self._pause(attempt, problem, retry_after)
        raise LlmUnavailable(f"the LLM failed {self.max_tries} times: {problem}")

    def stream(self, messages: list[dict[str, str]], *, max_tokens: int | None = None) -> Iterator[str]:
        """The answer's text as it is written (server-sent events), piece by piece. Failures
        before the first piece are retried as ``complete`` retries them; once text has been
        given out, a broken stream raises LlmUnavailable (the pieces cannot be taken back).
        ``last`` holds the whole result (text, finish reason, usage) when the stream ends."""
        body = self._body(messages, max_tokens, stream=True)
        url = f"{self.base_url}/chat/completions"
        problem = ""
        self.last = ChatResult(text="")
        for attempt in range(1, self.max_tries + 1):
            retry_after = None
            started = False
            try:
                with self._http.stream("POST", url, json=body) as response:
                    if response.status_code == 200:
                        pieces: list[str] = []
                        result = ChatResult(text="", usage=Usage(requests=1))
                        for piece in _events(response, result):
                            started = True
                            pieces.append(piece)
                            yield piece
                        result.text = "".join(pieces)
                        self.usage.add(result.usage)
                        self.last = result
                        return
                    response.read()
                    problem, retry_after = self._refused_or_retry(response)
            except (AddressRefused, httpx.TimeoutException, httpx.TransportError) as exc:
                problem = self._transport_problem(exc)
            except ValueError as exc:
                problem = f"malformed stream ({exc})"
            if started:
                self.usage.failed_requests += 1
                raise LlmUnavailable(f"the LLM's answer broke off: {problem}")
            self._pause(attempt, problem, retry_after)
        raise LlmUnavailable(f"the LLM failed {self.max_tries} times: {problem}")

    def _refused_or_retry(self, response: httpx.Response) -> tuple[str, float | None]:
        """A failed answer: (the problem, Retry-After) when it is worth retrying, else the
        configuration error is raised."""
        if response.status_code in RETRY_STATUSES or response.status_code >= 500:
            return f"HTTP {response.status_code}: {_error_message(response)}", _retry_after(response)
        self.usage.failed_requests += 1
        raise self._config_error(response)

    def _transport_problem(self, exc: Exception) -> str:
        """What went wrong on the way (AddressRefused becomes a configuration error)."""
        if isinstance(exc, AddressRefused):
            self.usage.failed_requests += 1
            raise LlmRefused(f"the LLM's server is not allowed: {exc}") from None
        if isinstance(exc, httpx.TimeoutException):
            return f"no answer within {self.timeout:g} s"
        return f"cannot reach {self.base_url} ({type(exc).__name__})"

    def _pause(self, attempt: int, problem: str, retry_after: float | None) -> None:
        """Count the failed try and wait before the next one (none after the last)."""
        self.usage.failed_requests += 1
        if attempt < self.max_tries:
            delay = self._delay(attempt, retry_after)
            log.warning("LLM %s: %s; try %d of %d in %.1fs", self.model, problem, attempt + 1, self.max_tries, delay)
            time.sleep(delay)

    def _config_error(self, response: httpx.Response) -> LlmRefused:
        status, message = response.status_code, _error_message(response)
        if status in (401, 403):
            return LlmRefused(f"the LLM API rejected the key from {self.key_source} ({status})")
        if status == 404:
            return LlmRefused(f"the LLM API at {self.base_url} does not know model {self.model!r} (404): {message}")
        return LlmRefused(f"the LLM API refused the request ({status}): {message}")
