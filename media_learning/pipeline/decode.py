"""Probe and decode any audio/video container with PyAV (bundled FFmpeg; no system ffmpeg).

Audio is resampled to 16 kHz mono float32 and yielded chunk by chunk. The container type is
read from the content, never from the file name.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import av
import numpy as np

from core.errors import UserError

SAMPLE_RATE = 16000

_MIME_BY_FORMAT = {
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "aac": "audio/aac",
    "avi": "video/x-msvideo",
    "asf": "audio/x-ms-wma",
    "matroska,webm": "video/webm",
    "mov,mp4,m4a,3gp,3g2,mj2": "video/mp4",
}


class MediaError(UserError):
    """The file cannot be used; ``str(exc)`` is a one-line reason for the user."""

    code = "bad_media"


@dataclass
class MediaInfo:
    format_name: str
    mime: str
    duration: float | None  # seconds declared by the container, if it says
    audio_codec: str
    has_video: bool


def human_duration(seconds: float) -> str:
    """12 s, 3.5 min, 2.1 h."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return " ".join(str(text).split())


_WEBM_CODECS = {"vp8", "vp9", "av1", "opus", "vorbis", "libdav1d", "libvpx", "libvpx-vp9", "libopus"}


def _mime(format_name: str, has_video: bool, codecs: set[str]) -> str:
    if format_name == "matroska,webm" and not codecs <= _WEBM_CODECS:
        return "video/x-matroska" if has_video else "audio/x-matroska"
    mime = _MIME_BY_FORMAT.get(format_name, "application/octet-stream")
    if not has_video and mime.startswith("video/"):
        mime = "audio/" + mime.split("/", 1)[1]
    if format_name == "asf" and has_video:
        mime = "video/x-ms-asf"
    return mime


def _audio_duration(container: av.container.InputContainer, stream: av.audio.stream.AudioStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Open the file and describe it, or raise MediaError with a human reason."""
    if os.path.getsize(path) == 0:
        raise MediaError("the file is empty")
    try:
        with av.open(os.fspath(path), metadata_errors="ignore") as container:
            if container.format.name.endswith("_pipe") or container.format.name in ("image2", "gif"):
                kind = container.format.name.removesuffix("_pipe").upper()
                raise MediaError(f"the file is an image ({kind}), not audio or video")
            audio = container.streams.audio
            has_video = bool(container.streams.video)
            if not audio:
                kind = "video" if has_video else "media"
                raise MediaError(f"the {kind} file has no audio track")
            stream = audio[0]
            if stream.codec_context is None:
                raise MediaError(
                    f"the audio codec in this {container.format.name} file is not supported: convert it to a common "
                    "format (mp3, m4a, wav, flac, ogg)"
                )
            codecs = {s.codec_context.name for s in (*audio, *container.streams.video) if s.codec_context is not None}
            return MediaInfo(
                format_name=container.format.name,
                mime=_mime(container.format.name, has_video, codecs),
                duration=_audio_duration(container, stream),
                audio_codec=stream.codec_context.name,
                has_video=has_video,
            )
    except av.error.FFmpegError as exc:
        raise MediaError(
            f"cannot read the file as audio or video: it is not media, or it is damaged or truncated ({_reason(exc)})"
        ) from exc


def iter_audio(path: str | os.PathLike[str], chunk_seconds: float = 30.0,
               max_seconds: float | None = None) -> Iterator[np.ndarray]:  # fmt: skip
    """Yield 16 kHz mono float32 chunks of about ``chunk_seconds`` each, decoding as it goes.
    MediaError once more than ``max_seconds`` have been decoded: a container may declare less
    than it holds, so the limit is on what is decoded, not on what is declared.

    The samples are resampled to 16-bit and scaled back, as faster-whisper's ``decode_audio``
    (and whisper's ffmpeg pipe) does: the model then hears exactly what it hears in bare
    faster-whisper. (A float resampling differs by at most 2**-16, which flips beam choices of
    the tiny model here and there: WER 0.107 against 0.089 on the 6 min bench recording.)"""
    for chunk in iter_pcm16(path, chunk_seconds, max_seconds):
        yield as_float32(chunk)


def as_float32(pcm: np.ndarray) -> np.ndarray:
    """16-bit samples as float32 in [-1, 1) (float samples pass unchanged)."""
    return pcm.astype(np.float32) / 32768.0 if pcm.dtype == np.int16 else pcm


def iter_pcm16(path: str | os.PathLike[str], chunk_seconds: float = 30.0,
               max_seconds: float | None = None) -> Iterator[np.ndarray]:  # fmt: skip
    """``iter_audio``'s chunks as the 16-bit samples they are decoded to (half the memory)."""
    target = max(1, int(chunk_seconds * SAMPLE_RATE))
    most = int(max_seconds * SAMPLE_RATE) if max_seconds is not None else None
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    fifo = av.AudioFifo()  # PyAV's own re-chunking: frames in, blocks of ``target`` samples out
    decoded = 0
    try:
        with av.open(os.fspath(path), metadata_errors="ignore") as container:
            stream = container.streams.audio[0]
            stream.thread_type = "AUTO"
            for packet in container.demux(stream):
                for frame in packet.decode():
                    frame.pts = None  # let the resampler keep its own clock
                    for out in resampler.resample(frame):
                        fifo.write(out)
                if most is not None and decoded + fifo.samples > most:
                    raise MediaError(f"the media is longer than the limit of {human_duration(max_seconds)} "
                                     "(MAX_MEDIA_DURATION), whatever length it declares")  # fmt: skip
                while fifo.samples >= target:
                    yield _pcm16(fifo.read(target))
                    decoded += target
            for out in resampler.resample(None):
                fifo.write(out)
    except av.error.FFmpegError as exc:
        at = (decoded + fifo.samples) / SAMPLE_RATE
        if at == 0:
            raise MediaError(
                f"cannot read the file as audio or video: no audio could be decoded; it is not media, or it is "
                f"damaged ({_reason(exc)})"
            ) from exc
        raise MediaError(f"the file is corrupt or truncated at {at:.1f} s ({_reason(exc)})") from exc
    if fifo.samples:
        yield _pcm16(fifo.read())


def _pcm16(frame: av.AudioFrame) -> np.ndarray:
    return frame.to_ndarray().reshape(-1)


def check_complete(info: MediaInfo, decoded_seconds: float) -> None:
    """Raise MediaError when nothing decoded, or much less than the container declares."""
    if decoded_seconds == 0:
        raise MediaError("the audio track contains no decodable sound")
    if info.duration and info.duration > 1.0 and decoded_seconds < 0.9 * info.duration - 0.5:
        raise MediaError(
            f"the file is truncated: it declares {info.duration:.1f} s of audio "
            f"but only {decoded_seconds:.1f} s could be decoded"
        )


def head(path: str | os.PathLike[str], seconds: float) -> np.ndarray:
    """The first ``seconds`` of the audio track (language detection looks at no more)."""
    pieces, total = [], 0
    for chunk in iter_audio(path, chunk_seconds=min(30.0, seconds)):
        pieces.append(chunk)
        total += len(chunk)
        if total >= seconds * SAMPLE_RATE:
            break
    return np.concatenate(pieces)[: int(seconds * SAMPLE_RATE)] if pieces else np.zeros(0, dtype=np.float32)


def load_audio(path: str | os.PathLike[str], info: MediaInfo) -> np.ndarray:
    """The whole audio track as one float32 array (for short media; the pipeline streams instead)."""
    return as_float32(load_pcm16(path, info))


def load_pcm16(path: str | os.PathLike[str], info: MediaInfo) -> np.ndarray:
    """The whole audio track as one array of 16-bit samples: 115 MB an hour, written into one
    buffer sized from the declared duration (so that the chunks and their concatenation are not
    held at once; it grows if the file holds more)."""
    audio = np.empty(int((info.duration or 0.0) * SAMPLE_RATE) + SAMPLE_RATE, dtype=np.int16)
    filled = 0
    for chunk in iter_pcm16(path):
        if filled + len(chunk) > len(audio):
            audio = np.resize(audio, max(2 * len(audio), filled + len(chunk)))
        audio[filled : filled + len(chunk)] = chunk
        filled += len(chunk)
    check_complete(info, filled / SAMPLE_RATE)
    return audio[:filled].copy() if filled < len(audio) // 2 else audio[:filled]
