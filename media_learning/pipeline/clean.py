"""Clean a transcript before it is split: drop the stock phrases whisper invents over silence,
and write Chinese in the knowledge base's script.

Whisper was trained on subtitles, so over silence, music or noise it tends to write their
credits ("字幕由Amara.org社区提供", "Thank you for watching", ...). Such a segment is dropped
when the model itself doubted it (a high no-speech probability or a low mean log-probability);
the same words spoken clearly stay, and so does text from providers that report no confidence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from knowledge.chinese_script import has_han, simplified, to_script
from media_learning.pipeline.split import ParagraphDraft, format_timestamp
from stt_models.providers.base import Segment

# Normalised (Simplified, lower case, letters and digits only): found anywhere in a segment.
_CREDITS = (
    "字幕由amaraorg社区提供",
    "amaraorg",
    "明镜与点点栏目",
    "请不吝点赞订阅转发打赏支持",
    "点赞订阅转发打赏",
    "字幕志愿者",
    "中文字幕志愿者",
    "subtitlesbytheamaraorgcommunity",
    "subtitlesby",
    "transcribedby",
)
# The whole segment, and nothing else.
_WHOLE_TEXTS = (
    "thankyouforwatching thanksforwatching thankyouverymuchforwatching pleasesubscribe likeandsubscribe "
    "pleaselikeandsubscribe clickthelinkinthedescription "
    "谢谢观看 感谢观看 谢谢大家观看 感谢您的观看 请订阅 订阅我的频道 欢迎订阅 "
    "谢谢收看 感谢收看 下期再见 我们下期再见 ご視聴ありがとうございました".split()
)
_NOT_WORD = re.compile(r"[\W_]+")
NO_SPEECH_DOUBT = 0.3  # no_speech_prob at or above which a stock phrase counts as invented
LOGPROB_DOUBT = -0.8  # avg_logprob at or below which it does too


def normalised(text: str) -> str:
    return _NOT_WORD.sub("", simplified(text).lower())


_WHOLE = frozenset(normalised(text) for text in _WHOLE_TEXTS)


def is_stock_phrase(text: str) -> bool:
    plain = normalised(text)
    return bool(plain) and (plain in _WHOLE or any(credit in plain for credit in _CREDITS))


def doubted(segment: Segment) -> bool:
    """Whether the model was unsure of the segment (False when it reported nothing)."""
    if segment.no_speech_prob is not None and segment.no_speech_prob >= NO_SPEECH_DOUBT:
        return True
    return segment.avg_logprob is not None and segment.avg_logprob <= LOGPROB_DOUBT


def drop_invented(segments: Sequence[Segment]) -> tuple[list[Segment], list[str]]:
    """The segments without doubted stock phrases, and one warning naming what was removed."""
    kept: list[Segment] = []
    removed: list[Segment] = []
    for segment in segments:
        (removed if is_stock_phrase(segment.text) and doubted(segment) else kept).append(segment)
    if not removed:
        return kept, []
    shown = "; ".join(f"{s.text.strip()!r} at {format_timestamp(s.start)}" for s in removed[:3])
    more = f" and {len(removed) - 3} more" if len(removed) > 3 else ""
    return kept, [f"removed {len(removed)} segment(s) that speech models invent over silence: {shown}{more}"]


def in_script(drafts: Sequence[ParagraphDraft], script: str) -> list[ParagraphDraft]:
    """Drafts whose Chinese is written in ``script`` (zh-Hans or zh-Hant); the text as the model
    wrote it is kept in ``raw_content``."""
    out = []
    for draft in drafts:
        converted = to_script(draft.content, script) if has_han(draft.content) else draft.content
        if converted != draft.content:
            cues = [[start, end, to_script(text, script)] for start, end, text in draft.cues]
            draft = replace(draft, content=converted, raw_content=draft.raw_content or draft.content, cues=cues)
        out.append(draft)
    return out


def segments_in_script(segments: Sequence[Segment], script: str) -> list[Segment]:
    """Segments (and their words) with their Chinese written in ``script``."""
    out = []
    for seg in segments:
        if not has_han(seg.text):
            out.append(seg)
            continue
        words = None if seg.words is None else [replace(w, word=to_script(w.word, script)) for w in seg.words]
        out.append(replace(seg, text=to_script(seg.text, script), words=words))
    return out


def as_shown(segments: Sequence[Segment], script: str) -> list[Segment]:
    """The segments as the knowledge base shows its paragraphs: without invented stock phrases,
    in its script (what exports and the transcript view give)."""
    kept, _ = drop_invented(segments)
    return segments_in_script(kept, script)
