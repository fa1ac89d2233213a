"""The [n] markers of an answer, mapped back to the passages (and so to moments) it was given.

Models write markers as [2], [1][3], [1, 3], [1-3] or, in Chinese, 【2】 and ［2］. A number that
was not given is an invented citation: it is dropped from the answer's text and reported; the
rest become citations in the order they first appear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.ask.passages import Passage

MARKER = re.compile(r"[\[【［]\s*(\d{1,4}(?:\s*(?:[,，、;；]|-|–|~)\s*\d{1,4})*)\s*[\]】］]")
_NUMBER = re.compile(r"\d{1,4}")
_RANGE = re.compile(r"(\d{1,4})\s*(?:-|–|~)\s*(\d{1,4})")
MAX_RANGE = 20
_GONE = "\x00"  # where an invented marker was


@dataclass
class Cited:
    text: str  # the answer with invented markers removed
    passages: list[Passage]  # cited, in order of first citation
    invalid: list[int]  # numbers cited that were not given, ascending


def _numbers(inside: str) -> list[int]:
    numbers: list[int] = []
    for part in re.split(r"[,，、;；]", inside):
        ranged = _RANGE.fullmatch(part.strip())
        if ranged:
            low, high = int(ranged.group(1)), int(ranged.group(2))
            if low <= high <= low + MAX_RANGE:
                numbers.extend(range(low, high + 1))
                continue
        numbers.extend(int(n) for n in _NUMBER.findall(part))
    return numbers


def cite(answer: str, passages: list[Passage]) -> Cited:
    by_number = {p.number: p for p in passages}
    order: list[int] = []
    invalid: set[int] = set()

    def keep(match: re.Match[str]) -> str:
        numbers = _numbers(match.group(1))
        good = [n for n in numbers if n in by_number]
        invalid.update(n for n in numbers if n not in by_number)
        order.extend(n for n in good if n not in order)
        return "".join(f"[{n}]" for n in dict.fromkeys(good)) or _GONE

    text = MARKER.sub(keep, answer.replace(_GONE, ""))
    text = re.sub(rf"[ \t]*{_GONE}", "", text).strip()  # with the space before it
    return Cited(text=text, passages=[by_number[n] for n in order], invalid=sorted(invalid))
