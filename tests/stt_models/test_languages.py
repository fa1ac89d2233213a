from faster_whisper.tokenizer import _LANGUAGE_CODES

from stt_models.languages import LANGUAGE_CODES


def test_the_language_list_is_faster_whispers():
    assert frozenset(_LANGUAGE_CODES) == LANGUAGE_CODES and "zh" in LANGUAGE_CODES and "yue" in LANGUAGE_CODES
