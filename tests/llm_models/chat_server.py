"""A real HTTP server on loopback that speaks the OpenAI chat completions API, standing in for a
remote LLM in tests. It answers like a small, obedient editor: polishing requests get every
paragraph back with sentence casing, end punctuation and a few known mishearings fixed; summary
requests get the first words of the text. It enforces a context window, counts tokens
independently of the client, and can be scripted to answer slowly, with 429 or 5xx, with
malformed JSON, or with an unusable (non-JSON) polish."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from tests.loopback import JsonHandler, LoopbackServer

FIXES = {"jupyter": "Jupiter", "jupitor": "Jupiter"}
_TOKEN = re.compile(r"\w+|[^\w\s]")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def count_tokens(text: str) -> int:
    """Roughly what a real tokenizer counts: a word, a punctuation mark or a CJK character each."""
    return sum(len(t) if _CJK.match(t) else 1 for t in _TOKEN.findall(text))


def polish_text(text: str) -> str:
    words = [FIXES.get(w.lower().strip(".,!?"), w) for w in text.split()]
    text = " ".join(words) if words else text
    if _CJK.search(text):
        return text if text.endswith(("。", "！", "？")) else text + "。"
    sentences = re.split(r"(?<=[.!?])\s+", text.strip())
    text = " ".join(s[:1].upper() + s[1:] for s in sentences if s)
    return text if text.endswith((".", "!", "?")) else text + "."


class ChatServer(LoopbackServer):
    def __init__(self, *, api_key: str = "test-llm-key", models: tuple[str, ...] = ("editor-1",),
                 context_window: int = 8192) -> None:  # fmt: skip
        self.api_key = api_key
        self.models = models
        self.context_window = context_window
        self.script: list[Any] = []  # per request: "slow", "malformed", "unusable" or an HTTP status
        self.slow_seconds = 3.0
        self.delay = 0.0  # seconds every answer takes (to watch a document while it is polished)
        self.attempts = 0  # every POST, refused ones included
        self.requests: list[dict[str, Any]] = []  # every authorised chat request as received
        self.answered_tokens = {"prompt": 0, "completion": 0}
        self.largest_request = 0  # tokens (prompt + max_tokens) of the largest request seen
        server = self

        class Handler(JsonHandler):
            def _error(self, status: int, message: str, headers: dict | None = None) -> None:
                self.send_json(status, {"error": {"message": message, "type": "error", "code": status}}, headers)

            def _authorised(self) -> bool:
                if server.api_key and self.headers.get("Authorization") != f"Bearer {server.api_key}":
                    self._error(401, "Incorrect API key provided")
                    return False
                return True

            def do_GET(self) -> None:
                if self.path != "/v1/models":
                    return self._error(404, f"no route {self.path}")
                if self._authorised():
                    body = {"object": "list", "data": [{"id": m, "object": "model"} for m in server.models]}
                    self.send_json(200, body)

            def do_POST(self) -> None:
                server.attempts += 1
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path != "/v1/chat/completions":
                    return self._error(404, f"no route {self.path}")
                if not self._authorised():
                    return
                server.requests.append(body)
                action = server.script.pop(0) if server.script else None
                if isinstance(action, int):
                    return self._error(action, "scripted failure", {"Retry-After": "0"} if action == 429 else None)
                time.sleep(server.slow_seconds if action == "slow" else server.delay)
                if action == "malformed":
                    return self.send_body(200, b'{"id": "chatcmpl-1", "choices": [{"message": ')
                if body.get("model") not in server.models:
                    return self._error(404, f"The model `{body.get('model')}` does not exist.")
                prompt = sum(count_tokens(m["content"]) for m in body["messages"])
                wanted = int(body.get("max_tokens") or body.get("max_completion_tokens") or 0)
                server.largest_request = max(server.largest_request, prompt + wanted)
                if prompt + wanted > server.context_window:
                    return self._error(
                        400, f"This model's maximum context length is {server.context_window} tokens. However, you "
                        f"requested {prompt + wanted} tokens ({prompt} in the messages, {wanted} in the completion).",
                    )  # fmt: skip
                text = "Sorry, I cannot help with that." if action == "unusable" else server.answer(body["messages"])
                completion = count_tokens(text)
                server.answered_tokens["prompt"] += prompt
                server.answered_tokens["completion"] += completion
                answer = {
                    "id": f"chatcmpl-{len(server.requests)}",
                    "object": "chat.completion",
                    "model": body["model"],
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                    ],  # fmt: skip
                    "usage": {
                        "prompt_tokens": prompt,
                        "completion_tokens": completion,
                        "total_tokens": prompt + completion,
                    },  # fmt: skip
                }
                self.send_json(200, answer)

        self.serve(Handler)

    @staticmethod
    def answer(messages: list[dict[str, str]]) -> str:
        system, user = messages[0]["content"], messages[-1]["content"]
        if '"paragraphs"' in system:
            items = json.loads(user)["paragraphs"]
            polished = [{"id": item["id"], "text": polish_text(item["text"])} for item in items]
            return "```json\n" + json.dumps({"paragraphs": polished}, ensure_ascii=False) + "\n```"
        if _CJK.search(user):
            return "摘要：" + user[:40]
        return "Summary: " + " ".join(user.split()[:25])

    def polish_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if '"paragraphs"' in r["messages"][0]["content"]]

    def summary_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if '"paragraphs"' not in r["messages"][0]["content"]]
