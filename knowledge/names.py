"""Names that users choose or that arrive with a file (upload and download file names, document
and knowledge-base names) are data. They are shown in pages, written into headers and logs, and
stored in PostgreSQL, which refuses NUL. So control characters (a NUL, CR/LF, escapes) and the
invisible format characters that can reorder how a name reads (right-to-left overrides, zero-width
joiners) are dropped, any whitespace (tabs and line breaks included) becomes one space, and the
length is bounded."""

from __future__ import annotations

import unicodedata

# Cc: control characters (NUL, CR, LF, ESC, DEL, C1). Cf: format characters (U+202E RIGHT-TO-LEFT
# OVERRIDE, U+200B ZERO WIDTH SPACE, ...). Cs: lone surrogates, which UTF-8 cannot encode.
_DROPPED = frozenset({"Cc", "Cf", "Cs"})


def clean_name(name: str, max_length: int = 255) -> str:
    """``name`` without control or format characters, each run of whitespace one space, at most
    ``max_length`` characters ('' when nothing is left)."""
    kept = (" " if ch.isspace() else ch for ch in name if ch.isspace() or unicodedata.category(ch) not in _DROPPED)
    return " ".join("".join(kept).split())[:max_length].strip()


def clean_file_name(name: str, max_length: int = 200) -> str:
    """The last part of a path-like name (a file name is never a path), cleaned."""
    return clean_name(name.replace("\\", "/").rsplit("/", 1)[-1], max_length)
