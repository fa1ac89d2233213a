"""The languages whisper knows (ISO 639-1 codes, and "haw" and "yue"), as faster-whisper lists
them in ``faster_whisper.tokenizer._LANGUAGE_CODES``. A copy, so that web processes validate an
upload's language without importing faster-whisper (which loads CTranslate2 and PyAV: about
50 MiB per process); tests/stt_models/test_languages.py keeps it equal to faster-whisper's."""

LANGUAGE_CODES = frozenset((
    "af", "am", "ar", "as", "az", "ba", "be", "bg", "bn", "bo", "br", "bs", "ca", "cs", "cy", "da", "de", "el",
    "en", "es", "et", "eu", "fa", "fi", "fo", "fr", "gl", "gu", "ha", "haw", "he", "hi", "hr", "ht", "hu", "hy",
    "id", "is", "it", "ja", "jw", "ka", "kk", "km", "kn", "ko", "la", "lb", "ln", "lo", "lt", "lv", "mg", "mi",
    "mk", "ml", "mn", "mr", "ms", "mt", "my", "ne", "nl", "nn", "no", "oc", "pa", "pl", "ps", "pt", "ro", "ru",
    "sa", "sd", "si", "sk", "sl", "sn", "so", "sq", "sr", "su", "sv", "sw", "ta", "te", "tg", "th", "tk", "tl",
    "tr", "tt", "uk", "ur", "uz", "vi", "yi", "yo", "zh", "yue",
))  # fmt: skip
