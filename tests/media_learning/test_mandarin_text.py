"""Mandarin text before indexing: paragraphs of unpunctuated speech, the stock phrases speech
models invent over silence, and the knowledge base's script (OpenCC)."""

from knowledge.chinese_script import SIMPLIFIED, TRADITIONAL, simplified, to_script
from media_learning.pipeline.clean import drop_invented, in_script, is_stock_phrase
from media_learning.pipeline.split import ParagraphDraft, build_paragraphs, weighted_length
from stt_models.providers.base import Segment

# Whisper base's way with this meeting: short phrases, no punctuation at all.
UNPUNCTUATED = [
    "大家好我们开始今天的项目会议", "首先请产品经理介绍一下用户反馈的主要问题", "上个月我们收到了两百多条反馈",
    "其中最多的是搜索结果不准确", "第二个问题是上传大文件的时候经常超时", "技术团队已经定位了原因",
    "主要是转写服务的队列太长", "我们计划下周增加两台服务器", "并且把长音频分段处理",
    "另外用户希望能够按照说话人来查找会议内容", "这个功能需要先做说话人分离", "预计要三周时间",
]  # fmt: skip


def spoken(texts, seconds=4.0, gap=0.5):
    out, t = [], 0.0
    for text in texts:
        out.append(Segment(start=t, end=t + seconds, text=text))
        t += seconds + gap
    return out


def test_unpunctuated_mandarin_closes_paragraphs_near_the_minimum_not_at_the_maximum():
    paragraphs = build_paragraphs(spoken(UNPUNCTUATED), max_chars=800, min_chars=200, pause=2.5)

    assert len(paragraphs) >= 3
    assert all(200 <= weighted_length(p.content) <= 800 for p in paragraphs[:-1])
    assert "".join(p.content for p in paragraphs) == "".join(UNPUNCTUATED)  # no spaces put between Chinese
    assert all(p.end - p.start < 40 for p in paragraphs)  # a citation plays a moment, not ten minutes


def test_a_paragraph_closes_before_it_spans_more_than_max_seconds():
    segments = spoken(["这是一个很短的句子"] * 40, seconds=5.0, gap=0.0)

    paragraphs = build_paragraphs(segments, max_chars=10_000, min_chars=10_000, pause=2.5, max_seconds=60)

    assert len(paragraphs) >= 3 and all(p.end - p.start <= 60 for p in paragraphs)


def test_one_long_chinese_segment_is_cut_by_weighted_length():
    text = "我们今天讨论数据库的索引和查询计划" * 40  # 680 characters, about 2,000 weighted
    paragraphs = build_paragraphs([Segment(0.0, 120.0, text)], max_chars=800, min_chars=200)

    assert len(paragraphs) >= 3 and all(weighted_length(p.content) <= 800 for p in paragraphs)
    assert "".join(p.content for p in paragraphs) == text
    assert paragraphs[0].start == 0.0 and paragraphs[-1].end == 120.0


def test_stock_phrases_are_dropped_only_where_the_model_doubted_them():
    segments = [
        Segment(0.0, 5.0, "今天我们讨论发布计划", no_speech_prob=0.01, avg_logprob=-0.2),
        Segment(5.0, 9.0, "字幕由Amara.org社區提供", no_speech_prob=0.62, avg_logprob=-0.4),
        Segment(9.0, 12.0, "請不吝點贊 訂閱 轉發 打賞支持明鏡與點點欄目", no_speech_prob=0.1, avg_logprob=-1.1),
        Segment(12.0, 15.0, "Thank you for watching!", no_speech_prob=0.02, avg_logprob=-0.1),  # said, clearly
        Segment(15.0, 18.0, "Thank you for watching.", no_speech_prob=0.7, avg_logprob=-0.9),
        Segment(18.0, 21.0, "Subtitles by the Amara.org community"),  # a provider that reports no confidence
    ]

    kept, warnings = drop_invented(segments)

    assert [s.start for s in kept] == [0.0, 12.0, 18.0]
    assert len(warnings) == 1 and warnings[0].startswith("removed 3 segment(s) that speech models invent over silence")
    assert "字幕由Amara.org社區提供" in warnings[0] and "00:00:05" in warnings[0]
    assert is_stock_phrase("谢谢观看") and is_stock_phrase("謝謝觀看") and not is_stock_phrase("谢谢大家的反馈")
    # seen at the cut end of a lecture clip (bench/peers.py), where the temperature fallback samples
    assert is_stock_phrase("Click the link in the description.") and not is_stock_phrase("Click the second link.")


def test_chinese_is_written_in_the_knowledge_bases_script_and_the_raw_text_is_kept():
    traditional = "資料庫的備份每天凌晨兩點自動執行"
    drafts = [ParagraphDraft(traditional, 0, 4), ParagraphDraft("English stays as it is.", 4, 8)]

    hans = in_script(drafts, SIMPLIFIED)
    hant = in_script([ParagraphDraft("数据库的备份每天凌晨两点自动执行", 0, 4)], TRADITIONAL)

    assert hans[0].content == "资料库的备份每天凌晨两点自动执行" and hans[0].raw_content == traditional
    assert hans[1].content == "English stays as it is." and hans[1].raw_content == ""
    assert hant[0].content == "數據庫的備份每天凌晨兩點自動執行" and hant[0].raw_content.startswith("数据库")
    assert simplified(hant[0].content) == "数据库的备份每天凌晨两点自动执行"
    assert to_script("no Han here", TRADITIONAL) == "no Han here"
