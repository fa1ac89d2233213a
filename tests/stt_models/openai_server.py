"""A real HTTP server on loopback that speaks the OpenAI audio transcription API and answers
with real transcriptions from the bundled tiny.en model (as speaches or a remote
faster-whisper service would). It stands in for the remote paid API in tests, with its rule
that the gpt-4o transcription models answer ``json`` (the text alone) and refuse ``verbose_json``."""

from __future__ import annotations

import tempfile
from email.parser import BytesParser
from email.policy import default as email_policy
from typing import Any

from media_learning.pipeline.decode import load_audio, probe
from stt_models.providers.faster_whisper import load_model
from tests.loopback import JsonHandler, LoopbackServer


class OpenAIAudioServer(LoopbackServer):
    def __init__(self, api_key: str = "test-key") -> None:
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self.fail_next: int | None = None  # answer the next request with this status
        self.fail_times = 0  # answer this many requests with 503 (counted down)
        self.failed = 0  # requests answered with fail_next or fail_times
        server = self

        class Handler(JsonHandler):
            _json = JsonHandler.send_json

            def do_GET(self) -> None:
                if self.path != "/v1/models":
                    return self._json(404, {"error": {"message": f"no route {self.path}"}})
                if self.headers.get("Authorization") != f"Bearer {server.api_key}":
                    return self._json(401, {"error": {"message": "Incorrect API key provided"}})
                self._json(200, {"object": "list", "data": [{"id": "whisper-1", "object": "model"}]})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path != "/v1/audio/transcriptions":
                    return self._json(
                        404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}}
                    )
                if self.headers.get("Authorization") != f"Bearer {server.api_key}":
                    error = {"message": "Incorrect API key provided", "type": "invalid_request_error",
                             "code": "invalid_api_key"}  # fmt: skip
                    return self._json(401, {"error": error})
                if server.fail_times > 0:
                    server.fail_times -= 1
                    server.failed += 1
                    return self._json(503, {"error": {"message": "overloaded, try again", "type": "server_error"}})
                if server.fail_next is not None:
                    status, server.fail_next = server.fail_next, None
                    server.failed += 1
                    return self._json(status, {"error": {"message": "try again later", "type": "server_error"}})
                form, files = server.parse(self.headers["Content-Type"], body)
                server.requests.append({"form": form, "file_bytes": len(files.get("file", b""))})
                model, response_format = form["model"][0], form.get("response_format", ["json"])[0]
                if model.startswith("gpt-4o") and response_format not in ("json", "text"):
                    error = {"message": f"response_format '{response_format}' is not compatible with model '{model}'. "
                                        "Use 'json' or 'text' instead.", "type": "invalid_request_error",
                             "param": "response_format", "code": "unsupported_value"}  # fmt: skip
                    return self._json(400, {"error": error})
                transcript = server.transcribe(files["file"], form)
                if response_format == "json":  # as OpenAI answers it: the text, no segments
                    transcript = {"text": transcript["text"]}
                self._json(200, transcript)

        self.serve(Handler)

    @staticmethod
    def parse(content_type: str, body: bytes) -> tuple[dict[str, list[str]], dict[str, bytes]]:
        message = BytesParser(policy=email_policy).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        form: dict[str, list[str]] = {}
        files: dict[str, bytes] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if part.get_filename():
                files[name] = part.get_payload(decode=True)
            else:
                form.setdefault(name, []).append(part.get_payload(decode=True).decode())
        return form, files

    def transcribe(self, data: bytes, form: dict[str, list[str]]) -> dict[str, Any]:
        with tempfile.NamedTemporaryFile(suffix=".bin") as tmp:
            tmp.write(data)
            tmp.flush()
            audio = load_audio(tmp.name, probe(tmp.name))
        whisper = load_model("bundled:tiny.en", "cpu", "int8", 2)
        want_words = "word" in form.get("timestamp_granularities[]", [])
        segments, info = whisper.transcribe(audio, beam_size=5, vad_filter=True, word_timestamps=want_words)
        segments = list(segments)
        body = {
            "task": "transcribe",
            "language": "english",
            "duration": info.duration,
            "text": " ".join(s.text.strip() for s in segments),
            "segments": [
                {
                    "id": i,
                    "seek": 0,
                    "start": s.start,
                    "end": s.end,
                    "text": s.text,
                    "tokens": [],
                    "temperature": 0.0,
                    "avg_logprob": s.avg_logprob,
                    "compression_ratio": s.compression_ratio,
                    "no_speech_prob": s.no_speech_prob,
                }
                for i, s in enumerate(segments)
            ],  # fmt: skip
        }
        if want_words:
            body["words"] = [
                {"word": w.word.strip(), "start": w.start, "end": w.end} for s in segments for w in s.words
            ]
        return body
