"""A real HTTP server on loopback that speaks the OpenAI chat completions API, standing in for a
remote LLM in tests. It answers like a small, obedient editor: polishing requests get every
paragraph back with sentence casing, end punctuation and a few known mishearings fixed; summary
requests get the first words of the text; questions about passages get the first passage's first
sentence with its citation (or a scripted answer), streamed when asked. It enforces a context window, counts tokens
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


_PASSAGE = re.compile(r"^\[(\d+)\] \((.*)\)\n(.+)$", re.M)


def is_question(user_message: str) -> bool:
    """A question about passages (llm_models.prompts.ask_messages), English or Chinese."""
    return user_message.startswith(("Passages:", "段落："))


def passages_of(user_message: str) -> list[tuple[int, str, str]]:
    """(number, label, text) of each passage in a question's message."""
    return [(int(n), label, text) for n, label, text in _PASSAGE.findall(user_message)]


def _units(text: str) -> set[str]:
    """Lower-case words of four letters or more, and Chinese character pairs."""
    words = {w for w in re.findall(r"[a-z]{4,}", text.lower())}
    han = re.findall(r"[\u4e00-\u9fff]", text)
    return words | {a + b for a, b in zip(han, han[1:], strict=False)}


def grounded_answer(user_message: str) -> str:
    """What an obedient model answers: the first sentence of the passage that shares most words
    with the question (the earliest on a tie), cited; in Chinese for a Chinese question."""
    passages = passages_of(user_message)
    chinese = user_message.startswith("段落：")
    question = user_message.rsplit("问题：" if chinese else "Question: ", 1)[-1]
    if not passages:
        return "知识库里没有相关内容。" if chinese else "The knowledge base does not say."
    wanted = _units(question)
    number, _, text = max(passages, key=lambda p: (len(wanted & _units(p[2])), -p[0]))
    first = re.split(r"(?<=[.!?。！？])\s*", text.strip())[0]
    return f"根据录音：{first} [{number}]" if chinese else f"The recording says: {first} [{number}]"


class ChatServer(LoopbackServer):
    def __init__(self, *, api_key: str = "test-llm-key", models: tuple[str, ...] = ("editor-1",),
                 context_window: int = 8192) -> None:  # fmt: skip
        self.api_key = api_key
        self.models = models
        self.context_window = context_window
        self.script: list[Any] = []  # per request: "slow", "malformed", "unusable" or an HTTP status
        self.slow_seconds = 3.0
        self.stream_delay = 0.0  # seconds between the chunks of a streamed answer
        self.ask_answers: list[str] = []  # scripted answers to questions (else ``grounded_answer``)
        self.delay = 0.0  # seconds every answer takes (to watch a document while it is polished)
        self.attempts = 0  # every POST, refused ones included
        self.requests: list[dict[str, Any]] = []  # every authorised chat request as received
        self.answered_tokens = {"prompt": 0, "completion": 0}
        self.largest_request = 0  # tokens (prompt + max_tokens) of the largest request seen
        # (received, first chunk sent) per streamed answer, time.perf_counter(): the server's own time
        self.stream_times: list[tuple[float, float]] = []
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
                self.received = time.perf_counter()
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
                if body.get("stream"):
                    return self._stream(body, text, prompt, completion, action)
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

            def _stream(self, body: dict, text: str, prompt: int, completion: int, action: Any) -> None:
                """The answer as server-sent events, a few words a chunk (``stream_delay`` apart,
                or ``slow_seconds`` for a "slow_stream"); "broken_stream" stops half way."""
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                words = re.findall(r"\S+\s*", text)
                chunks = ["".join(words[i : i + 3]) for i in range(0, len(words), 3)] or [""]
                delay = server.slow_seconds if action == "slow_stream" else server.stream_delay
                base = {"id": f"chatcmpl-{len(server.requests)}", "object": "chat.completion.chunk"}
                base["model"] = body["model"]
                try:
                    for i, chunk in enumerate(chunks):
                        if action == "broken_stream" and i >= len(chunks) // 2:
                            self.wfile.flush()
                            self.close_connection = True
                            return
                        delta = {"role": "assistant", "content": chunk} if i == 0 else {"content": chunk}
                        data = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
                        self.wfile.write(f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode())
                        self.wfile.flush()
                        if i == 0:
                            server.stream_times.append((self.received, time.perf_counter()))
                        time.sleep(delay)
                    end = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                    usage = {**base, "choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                                                              "total_tokens": prompt + completion}}  # fmt: skip
                    for data in (end, usage):
                        self.wfile.write(f"data: {json.dumps(data)}\n\n".encode())
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.serve(Handler)

    def answer(self, messages: list[dict[str, str]]) -> str:
        system, user = messages[0]["content"], messages[-1]["content"]
        if is_question(user):
            return self.ask_answers.pop(0) if self.ask_answers else grounded_answer(user)
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
        return [
            r for r in self.requests
            if '"paragraphs"' not in r["messages"][0]["content"] and not is_question(r["messages"][-1]["content"])
        ]  # fmt: skip

    def question_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if is_question(r["messages"][-1]["content"])]
