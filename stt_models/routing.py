"""Which speech model transcribes a recording: ``auto`` detects the language on the first 30 s
of speech with a multilingual model, then hands English to its English model (bundled-tiny-en:
as accurate as base on English, about twice as fast) and every other language to its other model
(bundled-base); speech not clearly English (below CONFIDENT) goes to the other model too. A model
chosen by name is used as it is, except that an English-only model never gets speech that is not
clearly English: the multilingual model takes it, with a warning on the document.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from stt_models.bundled import AUTO_OPTIONS
from stt_models.models import Provider, SpeechModel
from stt_models.providers.base import SttError, SttRefused
from stt_models.registry import get_provider

DETECT_SECONDS = 30.0  # of speech (voice activity detection skips silence and music first)
HEAD_SECONDS = 120.0  # of media decoded to find them


CONFIDENT = 0.5  # below this probability a detected language is not relied on


@dataclass
class Choice:
    model: SpeechModel  # the model that transcribes
    language: str  # the language it is told to transcribe ("" for none: it detects per segment)
    probability: float | None = None  # of the detected language; None when nothing was detected
    warnings: list[str] = field(default_factory=list)
    found: str = ""  # the detected language, sure or not

    @property
    def detected(self) -> bool:
        return self.probability is not None


def _named(name: str, role: str) -> SpeechModel:
    model = SpeechModel.objects.filter(name=name).first()
    if model is None:
        raise SttRefused(f"the auto speech model's {role} {name!r} is not registered")
    return model


def auto_options(model: SpeechModel | None) -> dict[str, str]:
    given = (model.options or {}) if model is not None and model.is_auto else {}
    return {key: str(given.get(key) or default) for key, default in AUTO_OPTIONS.items()}


def auto_problems(model: SpeechModel) -> dict[str, str]:
    """What is wrong with an ``auto`` model's options (admin and API validation)."""
    options = auto_options(model)
    problems = []
    for role, name in options.items():
        target = SpeechModel.objects.filter(name=name).first()
        if target is None:
            problems.append(f"{role}: no speech model named {name!r}")
        elif target.is_auto:
            problems.append(f"{role}: {name!r} is itself automatic")
    detector = SpeechModel.objects.filter(name=options["detector"]).first()
    if detector is not None and (detector.provider != Provider.FASTER_WHISPER or detector.english_only):
        problems.append("detector: must be a local multilingual faster-whisper model")
    return {"options": "; ".join(problems)} if problems else {}


def detect_language(detector: SpeechModel, head: np.ndarray) -> tuple[str, float]:
    """(language, probability) of the first DETECT_SECONDS of speech in ``head``; ("", 0.0)
    when it holds no speech."""
    provider = get_provider(detector)
    detect = getattr(provider, "detect_language", None)
    if detect is None:
        raise SttRefused(f"speech model {detector.name!r} cannot detect languages")
    return detect(head)


def choose(requested: SpeechModel, language: str, head: Callable[[], np.ndarray],
           auto: SpeechModel | None = None) -> Choice:  # fmt: skip
    """The model for a recording whose first minutes ``head()`` gives. ``language`` is the one
    the upload (or its knowledge base) named, "" for none; ``auto`` is the automatic model whose
    detector and multilingual model guard English-only ones (default: the one named auto).
    Speech not detected as English with some confidence goes to the multilingual model."""
    if requested.is_auto:
        options = auto_options(requested)
        if language:
            role = "english_model" if language == "en" else "other_model"
            return Choice(_named(options[role], role), language)
        found, probability = detect_language(_named(options["detector"], "detector"), head())
        sure = probability >= CONFIDENT
        role = "english_model" if found == "en" and sure else "other_model"
        return Choice(_named(options[role], role), found if sure else "", probability, found=found)
    if not requested.english_only or language:
        return Choice(requested, language)  # a multilingual model, or English-only with "en" named
    auto = auto or SpeechModel.objects.filter(provider=Provider.AUTO).order_by("pk").first()
    options = auto_options(auto)
    try:
        detector = _named(options["detector"], "detector")
    except SttError as exc:  # the operator removed it: transcribe as asked, and say so
        return Choice(requested, "", None, [f"the language was not checked before {requested.name}: {exc}"])
    found, probability = detect_language(detector, head())
    if found == "" or (found == "en" and probability >= CONFIDENT):  # English, or no speech at all
        return Choice(requested, found and "en", probability, found=found)
    other = _named(options["other_model"], "other_model")
    what = f"detected as {found!r}" if found != "en" else "not clearly English"
    warning = (f"the speech was {what} ({probability:.0%}); {requested.name} is English-only, "
               f"so {other.name} transcribed it")  # fmt: skip
    sure = probability >= CONFIDENT
    return Choice(other, found if sure else "", probability, [warning], found=found)
