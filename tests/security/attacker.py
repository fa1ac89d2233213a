"""Loopback servers that stand in for hosts an attacker points the service at: each records
every request it gets (method, path, headers, body) and answers like an OpenAI-style model
server or a plain file server, so that a test can assert what reached it (usually: nothing)."""

from __future__ import annotations

import threading
import time
from http.server import ThreadingHTTPServer
from typing import Any

from tests.loopback import JsonHandler, LoopbackServer


class RecordingServer(LoopbackServer):
    def __init__(self, host: str = "127.0.0.1", files: dict[str, tuple[bytes, str]] | None = None,
                 trickle: dict[str, float] | None = None, port: int = 0) -> None:  # fmt: skip
        self.requests: list[dict[str, Any]] = []
        self.files = dict(files or {})  # path -> (body, content type)
        self.trickle = dict(trickle or {})  # path -> seconds between bytes (a slowloris answer)
        self.headers: dict[str, str] = {}  # sent with every file
        self._lock = threading.Lock()
        server = self

        class Handler(JsonHandler):
            def _record(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with server._lock:
                    server.requests.append({"method": self.command, "path": self.path,
                                            "headers": dict(self.headers), "body": body})  # fmt: skip
                return body

            def do_GET(self) -> None:
                self._record()
                if self.path in server.trickle:
                    return self._trickle(*server.files[self.path], server.trickle[self.path])
                if self.path in server.files:
                    body, content_type = server.files[self.path]
                    return self.send_body(200, body, headers=server.headers, content_type=content_type)
                if self.path.endswith("/models"):
                    return self.send_json(200, {"object": "list", "data": [{"id": "whisper-1"}, {"id": "chat-1"}]})
                self.send_json(404, {"error": {"message": "no such path"}})

            def _trickle(self, body: bytes, content_type: str, pause: float) -> None:
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    for i in range(len(body)):
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                        time.sleep(pause)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up, as it should

            def do_POST(self) -> None:
                self._record()
                if self.path.endswith("/chat/completions"):
                    answer = {"choices": [{"message": {"content": "stolen"}, "finish_reason": "stop"}], "usage": {}}
                    return self.send_json(200, answer)
                self.send_json(200, {"text": "stolen", "segments": []})

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def root(self) -> str:
        return f"http://{self.httpd.server_address[0]}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root}/v1"

    def saw(self, text: str) -> bool:
        """Whether ``text`` appeared in any request it got (a header or the body)."""
        needle = text.encode()
        return any(needle in r["body"] or any(text in v for v in r["headers"].values()) for r in self.requests)
