"""Which speech model transcribes a recording: ``auto`` detects the language on the first 30 s
of speech with a multilingual model, then hands English to its English model (bundled-tiny-en:
as accurate as base on English, about twice as fast) and every other language to its other model
(bundled-base). A model chosen by name is used as it is, except that an English-only model never
gets speech detected as another language: the multilingual model takes it, with a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from stt_models.bundled import AUTO_OPTIONS
from stt_models.models import Provider, SpeechModel
from stt_models.providers.base import SttError

DETECT_SECONDS = 30.0  # of speech (voice activity detection skips silence and music first)
HEAD_SECONDS = 120.0  # of media decoded to find them


@dataclass
class Choice:
    model: SpeechModel  # the model that transcribes
    language: str  # given or detected ("" when neither: the model detects per segment)
    probability: float | None = None  # of the detected language
    warnings: list[str] = field(default_factory=list)

    @property
    def detected(self) -> bool:
        return self.probability is not None


def _named(name: str, role: str) -> SpeechModel:
    model = SpeechModel.objects.filter(name=name).first()
    if model is None:
        raise SttError(f"the auto speech model's {role} {name!r} is not registered")
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
    from stt_models.registry import get_provider

    provider = get_provider(detector)
    detect = getattr(provider, "detect_language", None)
    if detect is None:
        raise SttError(f"speech model {detector.name!r} cannot detect languages")
    return detect(head)


def choose(requested: SpeechModel, language: str, head: Callable[[], np.ndarray],
           auto: SpeechModel | None = None) -> Choice:  # fmt: skip
    """The model for a recording whose first minutes ``head()`` gives. ``language`` is the one
    the upload (or its knowledge base) named, "" for none; ``auto`` is the automatic model whose
    detector and multilingual model guard English-only ones (default: the one named auto)."""
    if requested.is_auto:
        options = auto_options(requested)
        if language:
            found, probability = language, None
        else:
            found, probability = detect_language(_named(options["detector"], "detector"), head())
        role = "english_model" if found in ("en", "") else "other_model"
        return Choice(_named(options[role], role), language or found, probability)
    if not requested.english_only or language:
        return Choice(requested, language)  # a multilingual model, or English-only with "en" named
    auto = auto or SpeechModel.objects.filter(provider=Provider.AUTO).order_by("pk").first()
    options = auto_options(auto)
    found, probability = detect_language(_named(options["detector"], "detector"), head())
    if found in ("en", ""):
        return Choice(requested, found or "en", probability)
    other = _named(options["other_model"], "other_model")
    warning = (f"the speech was detected as {found!r} ({probability:.0%}); {requested.name} is English-only, "
               f"so {other.name} transcribed it")  # fmt: skip
    return Choice(other, found, probability, [warning])
