import dataclasses
import shutil

import av
import numpy as np
import pytest

from media_learning.pipeline.decode import SAMPLE_RATE, MediaError, iter_audio, load_audio, load_pcm16, probe
from tests.conftest import fixture_path


@pytest.mark.parametrize(
    ("name", "mime", "seconds"),
    [
        ("jupiter_en.mp3", "audio/mpeg", 11.4),
        ("bread_en.mp4", "video/mp4", 13.3),
        ("lecture_60s_en.mp3", "audio/mpeg", 65.1),
    ],
)
def test_probe_and_load_fixture_gives_16k_mono(name, mime, seconds):
    info = probe(fixture_path(name))
    audio = load_audio(fixture_path(name), info)

    assert info.mime == mime
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert len(audio) / SAMPLE_RATE == pytest.approx(seconds, abs=0.2)
    assert 0.01 < float(np.abs(audio).max()) <= 1.0


def test_iter_audio_streams_bounded_chunks():
    chunks = list(iter_audio(fixture_path("lecture_60s_en.mp3"), chunk_seconds=10))

    assert len(chunks) == 7
    assert all(len(c) == 10 * SAMPLE_RATE for c in chunks[:-1])
    assert 0 < len(chunks[-1]) <= 10 * SAMPLE_RATE


def test_probe_type_comes_from_content_not_extension(tmp_path):
    misnamed = tmp_path / "really_an_mp3.wav"
    shutil.copy(fixture_path("jupiter_en.mp3"), misnamed)

    assert probe(misnamed).format_name == "mp3"


def test_probe_empty_file_says_empty(tmp_path):
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")

    with pytest.raises(MediaError, match="the file is empty"):
        probe(empty)


def test_probe_text_file_says_not_media(tmp_path):
    text = tmp_path / "notes.mp3"
    text.write_text("this is a text file, not audio\n" * 20)

    with pytest.raises(MediaError, match="cannot read the file as audio or video"):
        probe(text)


def test_probe_video_without_audio_says_no_audio_track():
    with pytest.raises(MediaError, match="no audio track"):
        probe(fixture_path("video_only.mp4"))


def test_load_truncated_mp3_says_truncated(tmp_path):
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(fixture_path("jupiter_en.mp3").read_bytes()[:15000])

    with pytest.raises(MediaError, match="truncated"):
        load_audio(cut, probe(cut))


def test_probe_truncated_mp4_is_rejected(tmp_path):
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(fixture_path("bread_en.mp4").read_bytes()[:30000])

    with pytest.raises(MediaError, match="damaged or truncated"):
        probe(cut)


def test_load_resamples_stereo_48k_to_mono_16k(tmp_path):
    path = tmp_path / "tone.flac"
    seconds, rate = 2.0, 48000
    t = np.arange(int(seconds * rate)) / rate
    tone = (0.5 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("flac", rate=rate, layout="stereo")
        frame = av.AudioFrame.from_ndarray(
            np.stack([tone, tone]).T.reshape(1, -1).copy(), format="s16", layout="stereo"
        )
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)

    audio = load_audio(path, probe(path))

    assert len(audio) / SAMPLE_RATE == pytest.approx(seconds, abs=0.05)
    spectrum = np.abs(np.fft.rfft(audio))
    assert np.argmax(spectrum) * SAMPLE_RATE / len(audio) == pytest.approx(440, abs=2)


def test_the_whole_track_as_16_bit_samples_is_the_float_track_at_half_the_memory():
    path = fixture_path("lecture_60s_en.mp3")
    info = probe(path)

    pcm, audio = load_pcm16(path, info), load_audio(path, info)

    assert pcm.dtype == np.int16 and pcm.nbytes * 2 == audio.nbytes
    assert np.array_equal(pcm.astype(np.float32) / 32768.0, audio)
    # a file that holds more than it declares still comes back whole
    short = dataclasses.replace(info, duration=2.0)
    assert np.array_equal(load_pcm16(path, short), pcm)
