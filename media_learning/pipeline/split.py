"""Whisper segments -> timestamped paragraphs.

Segments are grouped in order; a paragraph closes at a sentence end once it has at least
``min_chars``, at a long pause, where the speaker changes, before it would pass ``max_chars`` or
``max_seconds``. A single
segment longer than ``max_chars`` is cut with langchain's recursive splitter and its time span is
shared out in proportion to the characters of each piece.

Lengths are measured in English-like characters: a Chinese, Japanese or Korean character says
about as much as a short English word, so it counts CJK_WEIGHT. Whisper base often writes
Mandarin without any punctuation; the end of such a segment counts as a sentence end, so that
paragraphs still close near ``min_chars`` instead of running on to ``max_chars``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from langchain_text_splitters import RecursiveCharacterTextSplitter

from core.scripts import DENSE_CHAR, joins_without_space
from knowledge.models import ParagraphKind
from stt_models.providers.base import SENTENCE_END, Segment

_SEPARATORS = ["\n\n", "\n", "。", "！", "？", ". ", "! ", "? ", "；", "; ", "，", ", ", " ", ""]
_PUNCTUATION = re.compile(r"[.!?,;:。！？，；：、…]")
CJK_WEIGHT = 3  # one CJK character counts as this many characters of English


def weighted_length(text: str) -> int:
    """``len(text)`` with each CJK character counted CJK_WEIGHT times."""
    return len(text) + (CJK_WEIGHT - 1) * len(DENSE_CHAR.findall(text))


def _ends_sentence(text: str) -> bool:
    """A sentence end, or the end of an unpunctuated CJK segment (whisper's only boundary there)."""
    if SENTENCE_END.search(text):
        return True
    return bool(text) and DENSE_CHAR.match(text[-1]) is not None and not _PUNCTUATION.search(text)


@dataclass
class ParagraphDraft:
    content: str
    start: float
    end: float
    raw_content: str = ""  # the transcribed text when ``content`` was polished by an LLM
    kind: str = ParagraphKind.TRANSCRIPT
    speaker: str = ""  # the diarization label of whoever says it (paragraphs break where the speaker changes)
    # [start, end, text] of each segment it was made of, as transcribed: where in the paragraph
    # something is said (an answer's citation opens the media at its sentence, knowledge/ask/moments.py)
    cues: list[list] = field(default_factory=list)

    @property
    def title(self) -> str:
        if self.kind == ParagraphKind.SUMMARY:
            return "Summary"
        return f"{format_timestamp(self.start)} – {format_timestamp(self.end)}"


def format_timestamp(seconds: float) -> str:
    total = int(seconds)
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def join_text(left: str, right: str) -> str:
    """Join two pieces with a space, except inside Chinese or Japanese (no spaces between words;
    Korean has them, core/scripts.py)."""
    if not left:
        return right
    if not right:
        return left
    return left + right if joins_without_space(left, right) else f"{left} {right}"


def _cut_long(segment: Segment, max_chars: int) -> list[Segment]:
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=max_chars, chunk_overlap=0, separators=_SEPARATORS, keep_separator="end",
        length_function=weighted_length,
    )  # fmt: skip
    pieces = [p.strip() for p in splitter.split_text(segment.text) if p.strip()]
    total = sum(len(p) for p in pieces) or 1
    span = segment.end - segment.start
    out, cursor = [], segment.start
    for piece in pieces:
        end = min(segment.end, cursor + span * len(piece) / total)
        out.append(Segment(start=cursor, end=end, text=piece, speaker=segment.speaker))
        cursor = end
    return out


def build_paragraphs(
    segments: Sequence[Segment], *, max_chars: int = 800, min_chars: int = 200, pause: float = 2.5,
    max_seconds: float = 90.0,
) -> list[ParagraphDraft]:  # fmt: skip
    pieces: list[Segment] = []
    for seg in segments:
        text = seg.text.strip()
        if not text:
            continue
        seg = Segment(start=seg.start, end=max(seg.end, seg.start), text=text, speaker=seg.speaker)
        pieces.extend(_cut_long(seg, max_chars) if weighted_length(text) > max_chars else [seg])

    paragraphs: list[ParagraphDraft] = []
    current: ParagraphDraft | None = None
    for seg in pieces:
        if current is not None:
            gap = seg.start - current.end
            too_long = weighted_length(join_text(current.content, seg.text)) > max_chars
            changed = seg.speaker != current.speaker
            if changed or too_long or gap >= pause or seg.end - current.start > max_seconds:
                paragraphs.append(current)
                current = None
        if current is None:
            current = ParagraphDraft(content=seg.text, start=seg.start, end=seg.end, speaker=seg.speaker)
        else:
            current.content = join_text(current.content, seg.text)
            current.end = max(current.end, seg.end)
        current.cues.append([round(seg.start, 3), round(seg.end, 3), seg.text])
        if weighted_length(current.content) >= min_chars and _ends_sentence(seg.text):
            paragraphs.append(current)
            current = None
    if current is not None:
        paragraphs.append(current)
    return paragraphs
