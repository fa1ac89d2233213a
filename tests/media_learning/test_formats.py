"""Every common container decodes, is recognised from its content (the files are named .bin),
and transcribes with the real model."""

from fractions import Fraction

import av
import numpy as np
import pytest

from media_learning.pipeline.decode import load_audio, probe
from stt_models.registry import get_provider
from tests.conftest import fixture_path, reference_text, word_error_rate

# name: (container format, audio codec, with a video track, expected mime)
FORMATS = {
    "mp3": ("mp3", "libmp3lame", False, "audio/mpeg"),
    "wav": ("wav", "pcm_s16le", False, "audio/wav"),
    "m4a": ("ipod", "aac", False, "audio/mp4"),
    "aac": ("adts", "aac", False, "audio/aac"),
    "flac": ("flac", "flac", False, "audio/flac"),
    "ogg-opus": ("ogg", "libopus", False, "audio/ogg"),
    "wma": ("asf", "wmav2", False, "audio/x-ms-wma"),
    "webm": ("webm", "libopus", True, "video/webm"),
    "mp4": ("mp4", "aac", True, "video/mp4"),
    "mov": ("mov", "aac", True, "video/mp4"),
    "mkv": ("matroska", "libmp3lame", True, "video/x-matroska"),
    "avi": ("avi", "libmp3lame", True, "video/x-msvideo"),
}
VIDEO_CODEC = {"webm": "libvpx", "avi": "mpeg4"}


@pytest.fixture(scope="module")
def speech():
    path = fixture_path("jupiter_en.mp3")
    return load_audio(path, probe(path))


def write(path, fmt, codec, video, pcm):
    rate = 48000 if codec == "libopus" else 16000
    if rate != 16000:
        pcm = np.repeat(pcm, 3)  # 16 kHz -> 48 kHz (Opus only encodes 8/12/16/24/48 kHz; 48 is the norm)
    samples = (np.clip(pcm, -1, 1) * 32767).astype(np.int16)
    with av.open(str(path), "w", format=fmt) as out:
        audio = out.add_stream(codec, rate=rate, layout="mono")
        if codec == "wmav2":
            audio.bit_rate = 64000
        vstream = None
        if video:
            vstream = out.add_stream(VIDEO_CODEC.get(fmt, "libx264"), rate=5)
            vstream.width, vstream.height, vstream.pix_fmt = 64, 64, "yuv420p"
            for n in range(int(len(samples) / rate * 5)):
                frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), n % 255, np.uint8), format="rgb24")
                frame.pts, frame.time_base = n, Fraction(1, 5)
                for packet in vstream.encode(frame):
                    out.mux(packet)
            for packet in vstream.encode(None):
                out.mux(packet)
        step = audio.codec_context.frame_size or 1024
        for i in range(0, len(samples), step):
            frame = av.AudioFrame.from_ndarray(samples[None, i : i + step].copy(), format="s16", layout="mono")
            frame.sample_rate, frame.pts = rate, i
            for packet in audio.encode(frame):
                out.mux(packet)
        for packet in audio.encode(None):
            out.mux(packet)


@pytest.mark.parametrize("name", list(FORMATS))
def test_container_is_recognised_decoded_and_transcribed(name, speech, speech_models, tmp_path):
    fmt, codec, video, mime = FORMATS[name]
    path = tmp_path / f"upload-{name}.bin"  # the extension says nothing
    write(path, fmt, codec, video, speech)

    info = probe(path)
    audio = load_audio(path, info)
    transcript = get_provider(speech_models["bundled-tiny-en"]).transcribe(audio, {})

    assert info.mime == mime and info.has_video == video
    assert len(audio) / 16000 == pytest.approx(len(speech) / 16000, abs=0.15)
    assert word_error_rate(reference_text("jupiter_en"), " ".join(s.text for s in transcript.segments)) < 0.3
