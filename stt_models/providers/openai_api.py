"""Transcription through the OpenAI audio API, or any server that speaks it (speaches, vLLM,
a remote faster-whisper service). Each media segment is sent as 16 kHz mono FLAC and read back
as ``verbose_json`` with segment (and, when asked, word) timestamps, where the model gives them.
OpenAI's gpt-4o transcription models answer ``json`` only (the text, no times), and so does any
model whose options say ``"response_format": "json"`` (for another server's text-only model).
Each media segment is then one timed piece of the transcript, and the document says so in its
warnings (``gives_timestamps``).

The API key is read from the environment variable the model names (``api_key_env``), when the
operator allows it for this server (``core.model_servers``); it is never stored, logged or
shown. Every request goes to the address the guard checked.
"""

from __future__ import annotations

import io
import re
from typing import Any

import av
import numpy as np

from core import model_servers, pcm
from core.model_servers import OPENAI_BASE_URL
from stt_models.providers.base import Segment, SegmentCallback, SttRefused, SttUnavailable, Transcript, Word

SAMPLE_RATE = 16000
MAX_UPLOAD_BYTES = 25 * 1024 * 1024  # the OpenAI API's file limit
# OpenAI models that answer "json" or "text" only (no segments, no timestamps).
_TEXT_ONLY = re.compile(r"^gpt-4o(-mini)?-transcribe")
NO_TIMESTAMPS = (
    "the speech model gives no timestamps: each paragraph is timed by the media segment it came from "
    "(segment_duration sets their length)"
)


# The per-upload options this provider sends to the API (the rest would be dropped silently, so
# the upload refuses them for its models: stt_models.options.supported_options).
SUPPORTED_OPTIONS = ("language", "task", "temperature", "initial_prompt", "word_timestamps")


def gives_timestamps(model: str, options: dict[str, Any] | None = None) -> bool:
    """Whether the API model answers with segment timestamps (``verbose_json``)."""
    wanted = (options or {}).get("response_format", "")
    return not _TEXT_ONLY.match(model.strip()) and wanted in ("", "verbose_json")


def encode_flac(audio: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="flac") as out:
        stream = out.add_stream("flac", rate=SAMPLE_RATE, layout="mono")
        pcm.encode(out, stream, audio, SAMPLE_RATE)
        pcm.flush(out, stream)
    return buffer.getvalue()


def _get(obj: Any, key: str, default: Any = None) -> Any:
    return obj.get(key, default) if isinstance(obj, dict) else getattr(obj, key, default)


class OpenAIProvider:
    def __init__(self, *, model: str, base_url: str = "", api_key_env: str = "", require_key: bool = True,
                 options: dict[str, Any] | None = None) -> None:  # fmt: skip
        self.model = model
        self.base_url = base_url or OPENAI_BASE_URL
        self.api_key_env = api_key_env
        self.require_key = require_key
        opts = dict(options or {})
        self.timeout = float(opts.pop("timeout", 600))
        self.max_retries = int(opts.pop("max_retries", 2))
        self.timestamps = gives_timestamps(model, opts)
        opts.pop("response_format", None)
        self.defaults = opts

    def _client(self) -> Any:
        import openai  # noqa: PLC0415 - a 0.6 s import: only API speech models need it

        try:
            key = model_servers.read_api_key(self.api_key_env, self.base_url)
        except model_servers.ServerRefused as exc:
            raise SttRefused(f"the speech model's server or key is not allowed: {exc}") from None
        if not key and self.require_key:
            raise SttRefused(
                f"the environment variable {self.api_key_env or '(none named)'} with the API key is not set"
            )
        return openai.OpenAI(api_key=key or "unused", base_url=self.base_url, timeout=self.timeout,
                             max_retries=self.max_retries,
                             http_client=model_servers.http_client(timeout=self.timeout))  # fmt: skip

    def transcribe(
        self, audio: np.ndarray, options: dict[str, Any], on_segment: SegmentCallback | None = None
    ) -> Transcript:
        import openai  # noqa: PLC0415 - a 0.6 s import: only API speech models need it

        opts = {**self.defaults, **options}
        data = encode_flac(audio)
        if len(data) > MAX_UPLOAD_BYTES:
            raise SttRefused("a media segment is larger than the API's 25 MB limit; lower segment_duration")
        granularities = ["segment", "word"] if opts.get("word_timestamps") else ["segment"]
        kwargs: dict[str, Any] = {"response_format": "verbose_json", "timestamp_granularities": granularities}
        if not self.timestamps:
            kwargs = {"response_format": "json"}
        if opts.get("language") not in (None, "", "auto"):
            kwargs["language"] = opts["language"]
        if opts.get("initial_prompt"):
            kwargs["prompt"] = opts["initial_prompt"]
        if opts.get("temperature") is not None:
            temperature = opts["temperature"]
            kwargs["temperature"] = float(temperature[0] if isinstance(temperature, list) else temperature)
        client = self._client()
        try:
            result = self._send(client, data, kwargs, opts)
        except (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError) as exc:
            raise SttUnavailable(f"speech API unavailable: {type(exc).__name__}: {exc}") from exc
        except openai.AuthenticationError as exc:
            raise SttRefused(
                f"the speech API rejected the key from {self.api_key_env or 'the environment'} (401)"
            ) from exc
        except openai.APIStatusError as exc:
            raise SttRefused(f"the speech API refused the request ({exc.status_code}): {exc.message}") from exc
        return self._transcript(result, len(audio) / SAMPLE_RATE, opts, on_segment)

    def _send(self, client: Any, data: bytes, kwargs: dict[str, Any], opts: dict[str, Any]) -> Any:
        audio_file = ("audio.flac", data, "audio/flac")
        if opts.get("task") == "translate":
            kwargs = {k: v for k, v in kwargs.items() if k not in ("language", "timestamp_granularities")}
            return client.audio.translations.create(model=self.model, file=audio_file, **kwargs)
        return client.audio.transcriptions.create(model=self.model, file=audio_file, **kwargs)

    def _transcript(self, result: Any, duration: float, opts: dict[str, Any],
                    on_segment: SegmentCallback | None) -> Transcript:  # fmt: skip
        words = [
            Word(float(_get(w, "start")), float(_get(w, "end")), _get(w, "word")) for w in _get(result, "words") or []
        ]
        segments = []
        raw_segments = _get(result, "segments")
        if raw_segments is None and (text := (_get(result, "text") or "").strip()):
            raw_segments = [{"start": 0.0, "end": duration, "text": text}]  # json: the text alone, untimed
        for raw in raw_segments or []:
            text = (_get(raw, "text") or "").strip()
            if not text:
                continue
            start, end = float(_get(raw, "start")), float(_get(raw, "end"))
            seg_words = [w for w in words if start - 0.01 <= w.start < end + 0.01] if words else None
            segment = Segment(start=start, end=min(end, duration), text=text, words=seg_words)
            segments.append(segment)
            if on_segment is not None:
                on_segment(segment)
        language = str(_get(result, "language") or opts.get("language") or "")
        if len(language) > 3:  # the OpenAI API answers with a name, e.g. "english"
            language = opts.get("language") or _LANGUAGE_NAMES.get(language.lower(), language[:16])
        return Transcript(language=language, duration=duration, segments=segments)


_LANGUAGE_NAMES = {
    "english": "en", "chinese": "zh", "german": "de", "spanish": "es", "russian": "ru", "korean": "ko",
    "french": "fr", "japanese": "ja", "portuguese": "pt", "turkish": "tr", "polish": "pl", "catalan": "ca",
    "dutch": "nl", "arabic": "ar", "swedish": "sv", "italian": "it", "indonesian": "id", "hindi": "hi",
    "finnish": "fi", "vietnamese": "vi", "hebrew": "he", "ukrainian": "uk", "greek": "el", "malay": "ms",
    "czech": "cs", "romanian": "ro", "danish": "da", "hungarian": "hu", "tamil": "ta", "norwegian": "no",
    "thai": "th", "urdu": "ur", "cantonese": "yue",
}  # fmt: skip
