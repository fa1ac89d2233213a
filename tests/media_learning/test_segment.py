import numpy as np
import pytest

from media_learning.pipeline.decode import SAMPLE_RATE, iter_audio
from media_learning.pipeline.segment import iter_segments, quietest_point, segment_length
from tests.conftest import fixture_path


def tone(seconds, amplitude=0.3):
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (amplitude * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def test_quietest_point_finds_the_gap_nearest_the_middle():
    gap = np.zeros(SAMPLE_RATE // 2, np.float32)
    audio = np.concatenate([tone(4), gap, tone(2), gap, tone(3)])  # gaps at 4.0-4.5 s and 6.5-7.0 s

    cut = quietest_point(audio) / SAMPLE_RATE

    assert 4.0 <= cut <= 4.5  # inside the gap nearer the middle (5.0 s)


def test_segments_cover_the_stream_exactly_and_cut_in_silence():
    pieces = []
    for _ in range(12):
        pieces += [tone(7.3), np.zeros(int(0.6 * SAMPLE_RATE), np.float32)]
    audio = np.concatenate(pieces)
    chunks = [audio[i : i + 16000 * 3] for i in range(0, len(audio), 16000 * 3)]

    segments = list(iter_segments(chunks, segment_duration=20, search=5))

    assert [s.index for s in segments] == list(range(len(segments))) and len(segments) >= 4
    assert np.array_equal(np.concatenate([s.audio for s in segments]), audio)
    assert all(a.end == pytest.approx(b.start) for a, b in zip(segments, segments[1:], strict=False))
    for seg in segments[:-1]:
        assert 15 <= len(seg.audio) / SAMPLE_RATE <= 25
        cut = int(seg.end * SAMPLE_RATE)
        assert np.abs(audio[cut - 800 : cut + 800]).max() == 0  # 50 ms either side is silence


def test_short_stream_is_one_segment():
    segments = list(iter_segments(iter_audio(fixture_path("jupiter_en.mp3")), segment_duration=300))

    assert len(segments) == 1 and segments[0].start == 0
    assert segments[0].end == pytest.approx(11.4, abs=0.1)


def test_speech_fixture_is_cut_between_words():
    segments = list(iter_segments(iter_audio(fixture_path("lecture_60s_en.mp3")), segment_duration=20, search=5))

    assert len(segments) == 3
    for seg in segments[:-1]:
        tail = seg.audio[-1600:]  # last 100 ms before the cut
        assert float(np.sqrt((tail**2).mean())) < 0.01


def test_the_default_segment_length_is_evened_out_over_the_media():
    assert segment_length({}, 373.0) == pytest.approx(186.5)  # two even halves, not 300 s and 73 s
    assert segment_length({}, 610.0) == pytest.approx(610 / 3)
    assert segment_length({}, 200.0) == segment_length({}, None) == 300.0  # one segment
    assert segment_length({"segment_duration": 60.0}, 373.0) == 60.0  # as the user asked
