"""Which characters belong to which writing system, defined once: search, paragraph cutting,
token estimates, a question's language and the Chinese script converter all ask.

Chinese and Japanese write words without spaces between them, so pieces of their text join
without one; Korean puts spaces between words (Hangul is dense, but not unspaced), so Korean
pieces join with one, like English.
"""

from __future__ import annotations

import re

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs (Chinese; Japanese kanji)
KANA = "\u3040-\u30ff"  # hiragana and katakana
HANGUL = "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"  # jamo, compatibility jamo, syllables
FULLWIDTH = "\uff00-\uffef"  # full-width forms and punctuation

HAN_CHAR = re.compile(f"[{HAN}]")
HAN_RUN = re.compile(f"[{HAN}]+")
UNSPACED_CHAR = re.compile(f"[{HAN}{KANA}]")  # scripts whose words run together
DENSE_CHAR = re.compile(f"[{HAN}{KANA}{HANGUL}]")  # one character says about a short English word
WIDE_CHAR = re.compile(f"[{HAN}{KANA}{HANGUL}{FULLWIDTH}]")  # what tokenizers spend more tokens on


def joins_without_space(left: str, right: str) -> bool:
    """Whether two pieces of text meet inside Chinese or Japanese (no space between them)."""
    return bool(left and right) and bool(UNSPACED_CHAR.match(left[-1]) or UNSPACED_CHAR.match(right[0]))
