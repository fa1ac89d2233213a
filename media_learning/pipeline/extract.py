"""Extract a document's audio track as WAV or MP3 at a chosen sample rate (mono), streamed
through PyAV with bounded memory."""

from __future__ import annotations

import os
from typing import BinaryIO

import av
from django.template.defaultfilters import filesizeformat

from media_learning.pipeline.decode import MediaError, human_duration, probe

CODECS = {"wav": "pcm_s16le", "mp3": "libmp3lame"}
SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)


def extract_audio(source: str | os.PathLike[str], target: BinaryIO, fmt: str, sample_rate: int, *,
                  max_bytes: int | None = None, max_seconds: float | None = None) -> None:  # fmt: skip
    """Write the audio track of ``source`` to the seekable file ``target``; MediaError past
    ``max_bytes`` written or ``max_seconds`` decoded (whatever the file declares)."""
    probe(source)  # clear MediaError for empty / non-media / audio-less files
    most = int(max_seconds * sample_rate) if max_seconds is not None else None
    written = 0
    try:
        with av.open(os.fspath(source), metadata_errors="ignore") as inp, av.open(target, "w", format=fmt) as out:
            stream = out.add_stream(CODECS[fmt], rate=sample_rate, layout="mono")
            if fmt == "mp3":
                stream.bit_rate = 64000 if sample_rate <= 24000 else 128000
            ctx = stream.codec_context
            resampler = av.AudioResampler(format=ctx.format.name, layout="mono", rate=sample_rate,
                                          frame_size=ctx.frame_size or None)  # fmt: skip
            for frame in inp.decode(inp.streams.audio[0]):
                frame.pts = None
                for chunk in resampler.resample(frame):
                    written += chunk.samples
                    if most is not None and written > most:
                        raise MediaError(f"the media is longer than the limit of {human_duration(max_seconds)} "
                                         "(MAX_MEDIA_DURATION), whatever length it declares")  # fmt: skip
                    for packet in stream.encode(chunk):
                        out.mux(packet)
                if max_bytes is not None and target.tell() > max_bytes:
                    raise MediaError(f"the audio would be larger than {filesizeformat(max_bytes)} "
                                     "(AUDIO_EXPORT_MAX_BYTES): choose mp3 or a lower sample_rate")  # fmt: skip
            for chunk in resampler.resample(None):
                for packet in stream.encode(chunk):
                    out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)
    except av.error.FFmpegError as exc:
        raise MediaError(f"cannot extract the audio: {' '.join(str(exc).split())}") from exc
