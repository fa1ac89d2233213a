from media_learning.pipeline.split import build_paragraphs, format_timestamp, join_text
from stt_models.providers.base import Segment


def seg(start, end, text):
    return Segment(start=start, end=end, text=text)


def test_build_paragraphs_closes_at_sentence_end_after_min_chars():
    segments = [seg(0, 4, "A" * 120 + "."), seg(4, 8, "B" * 120 + "."), seg(8, 12, "C" * 50 + ".")]

    paragraphs = build_paragraphs(segments, max_chars=800, min_chars=200, pause=5)

    assert [(p.start, p.end) for p in paragraphs] == [(0, 8), (8, 12)]
    assert paragraphs[0].content == "A" * 120 + ". " + "B" * 120 + "."


def test_build_paragraphs_never_exceeds_max_chars_and_keeps_order():
    segments = [seg(i * 3, i * 3 + 3, f"Sentence number {i} has a few words in it") for i in range(60)]

    paragraphs = build_paragraphs(segments, max_chars=300, min_chars=100, pause=5)

    assert all(len(p.content) <= 300 for p in paragraphs)
    assert [p.start for p in paragraphs] == sorted(p.start for p in paragraphs)
    assert " ".join(p.content for p in paragraphs) == " ".join(s.text for s in segments)


def test_build_paragraphs_breaks_at_long_pause():
    segments = [seg(0, 2, "First thought without an end"), seg(10, 12, "second thought after silence")]

    paragraphs = build_paragraphs(segments, max_chars=800, min_chars=200, pause=2.5)

    assert [(p.start, p.end, p.content) for p in paragraphs] == [
        (0, 2, "First thought without an end"),
        (10, 12, "second thought after silence"),
    ]


def test_build_paragraphs_cuts_overlong_segment_and_shares_its_time():
    text = ". ".join(f"Clause {i} of a very long monologue" for i in range(40)) + "."
    paragraphs = build_paragraphs([seg(100, 200, text)], max_chars=200, min_chars=50, pause=5)

    assert len(paragraphs) > 5
    assert all(len(p.content) <= 200 for p in paragraphs)
    assert paragraphs[0].start == 100 and paragraphs[-1].end == 200
    assert all(a.end <= b.start + 1e-9 for a, b in zip(paragraphs, paragraphs[1:], strict=False))


def test_build_paragraphs_joins_chinese_without_spaces():
    segments = [seg(0, 2, "今天我们讨论数据库。"), seg(2, 4, "索引可以加快查询。")]

    paragraphs = build_paragraphs(segments, max_chars=800, min_chars=5, pause=5)

    assert paragraphs[0].content == "今天我们讨论数据库。"
    assert paragraphs[1].content == "索引可以加快查询。"
    assert join_text("数据库", "索引") == "数据库索引"
    assert join_text("hello", "world") == "hello world"
    assert join_text("今日は", "晴れです") == "今日は晴れです"  # Japanese runs on, like Chinese
    assert join_text("오늘은 날씨가", "좋습니다") == "오늘은 날씨가 좋습니다"  # Korean keeps its spaces
    korean = build_paragraphs(
        [seg(0, 2, "오늘은 날씨가"), seg(2, 4, "좋습니다.")], max_chars=800, min_chars=50, pause=5
    )
    assert [p.content for p in korean] == ["오늘은 날씨가 좋습니다."]


def test_build_paragraphs_of_nothing_is_empty():
    assert build_paragraphs([seg(0, 1, "  ")]) == []


def test_paragraph_title_is_its_time_range():
    paragraph = build_paragraphs([seg(3725.4, 3790, "Hello there.")])[0]

    assert paragraph.title == "01:02:05 – 01:03:10"
    assert format_timestamp(59.9) == "00:00:59"
