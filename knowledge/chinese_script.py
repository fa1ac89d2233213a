"""Simplified and Traditional Chinese: transcripts are written in their knowledge base's script,
and search treats both scripts as one.

Whisper base writes much Mandarin in Traditional characters; OpenCC (its PyPI package, with its
own dictionaries: phrases first, then characters) converts it. Text that holds no Han characters
is returned as it is, without touching the converter.
"""

from __future__ import annotations

import threading

import opencc

from core.scripts import HAN_CHAR

SIMPLIFIED = "zh-Hans"
TRADITIONAL = "zh-Hant"
SCRIPTS = ((SIMPLIFIED, "Simplified Chinese"), (TRADITIONAL, "Traditional Chinese"))
_CONFIG = {SIMPLIFIED: "t2s", TRADITIONAL: "s2t"}
_converters: dict[str, object] = {}
_lock = threading.Lock()


def _converter(script: str):
    if script not in _CONFIG:
        raise ValueError(f"unknown script {script!r}; use {SIMPLIFIED} or {TRADITIONAL}")
    converter = _converters.get(script)
    if converter is None:
        with _lock:
            converter = _converters.get(script)
            if converter is None:
                converter = _converters[script] = opencc.OpenCC(_CONFIG[script])
    return converter


def has_han(text: str) -> bool:
    return HAN_CHAR.search(text) is not None


def to_script(text: str, script: str = SIMPLIFIED) -> str:
    """``text`` with its Han characters in ``script`` (zh-Hans or zh-Hant)."""
    if not text or not has_han(text):
        return text
    return _converter(script).convert(text)


def simplified(text: str) -> str:
    """The Simplified form that keyword search indexes and looks up, whatever the script."""
    return to_script(text, SIMPLIFIED)
