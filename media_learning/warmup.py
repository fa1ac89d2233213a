"""Warm models in worker processes.

On start (``worker_process_init`` for prefork children, ``worker_ready`` for solo/threads) a
worker loads the models its role uses when ``STT_WARMUP`` is on, so the first document does not
pay for loading them: a transcribe worker the default speech model, a diarize worker the speaker
model, an index worker the embedding model, an llm or default worker none; a worker of every
queue (``make run``) the speech and embedding models (the speaker model on first use).
``manage.py worker`` tells its processes their role in ``MEDIA_WORKER_ROLE``.
``manage.py stt_models warmup|unload`` changes that at run time through the remote-control
commands in ``media_learning/control.py``.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from celery.signals import worker_process_init, worker_ready
from django.conf import settings

log = logging.getLogger(__name__)


@dataclass
class Policy:
    """Whether new worker processes warm up, and which speech model (None: the default)."""

    enabled: bool | None = None  # None: follow settings.STT_WARMUP
    model: str | None = None

    def should_warm(self) -> bool:
        return settings.STT_WARMUP if self.enabled is None else self.enabled


policy = Policy()
WARMED = threading.Event()  # this process has warmed up (solo and threads pools: the worker itself)


def warm_marker(parent: int, child: int) -> Path:
    """The file a prefork pool process leaves once warm, for its parent to count (health's ready)."""
    return Path(settings.VAR_DIR) / "run" / f"worker-{parent}-{child}.warm"


def warm_children(parent: int) -> int:
    """How many live pool processes of ``parent`` have warmed up (markers of dead ones removed)."""
    folder = Path(settings.VAR_DIR) / "run"
    count = 0
    for marker in folder.glob(f"worker-{parent}-*.warm"):
        child = int(marker.stem.rsplit("-", 1)[1])
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            marker.unlink(missing_ok=True)
            continue
        except PermissionError:
            pass
        count += 1
    return count


def _mark_warm_child() -> None:
    marker = warm_marker(os.getppid(), os.getpid())
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError as exc:  # readiness then waits; the work itself is unaffected
        log.warning("could not mark this pool process warm: %s", exc)


ROLE_ENV = "MEDIA_WORKER_ROLE"
ROLE_MODELS = {  # what a worker of each role loads on start
    "all": ("speech", "embeddings"),
    "transcribe": ("speech",),
    "diarize": ("speakers",),
    "index": ("embeddings",),
    "llm": (),
    "default": (),
}


def role_models(role: str | None = None) -> tuple[str, ...]:
    """The models a worker of ``role`` (default: this process's) warms; a transcribe worker that
    runs every stage itself (STAGE_QUEUES off) needs the embedding model too."""
    role = role or os.environ.get(ROLE_ENV) or "all"
    wanted = ROLE_MODELS.get(role, ROLE_MODELS["all"])
    if role == "transcribe" and not settings.STAGE_QUEUES:
        wanted = (*wanted, "embeddings")
    return wanted


def warm_up(model_ref: str | None = None, role: str | None = None) -> str:
    """Load the models of this worker's role (role_models): a speech model (default: the default
    model), the speaker model, the embedding model. Returns the speech model's name, or what was
    loaded in words when no speech model was."""
    from knowledge import embeddings, english_vectors  # noqa: PLC0415 - models load only in a worker that warms them (web processes import this module)
    from stt_models.diarization import voices  # noqa: PLC0415 - models load only in a worker that warms them (web processes import this module)
    from stt_models.registry import get_provider, resolve_speech_model  # noqa: PLC0415 - models load only in a worker that warms them (web processes import this module)

    wanted = role_models(role) if model_ref is None else ("speech", *role_models(role))
    loaded, name = [], ""
    if "speech" in wanted:
        model = resolve_speech_model(model_ref)
        for each in _models_behind(model):
            get_provider(each).transcribe(np.zeros(8000, dtype=np.float32), {})
        name = model.name
        loaded.append(f"speech model {name}")
    if "speakers" in wanted and settings.DIARIZATION_ENABLED:
        voices.embed([np.zeros(24000, dtype=np.float32)])
        loaded.append("the speaker model")
    if "embeddings" in wanted:
        embeddings.embed(["warm up"])
        english = english_vectors.paragraph_vectors(["warm up the English encoder"], embeddings.model_name())
        loaded.append(
            f"embeddings {embeddings.model_name()}" + (" with MiniLM for English" if english[0] is not None else "")
        )
    summary = " and ".join(loaded) or "nothing (this role uses no local model)"
    log.info("warmed up %s", summary)
    return name or summary


def _models_behind(model: object) -> list:
    """The model itself, or the models ``auto`` detects and transcribes with."""
    from stt_models.models import SpeechModel  # noqa: PLC0415 - models load only in a worker that warms them (web processes import this module)
    from stt_models.routing import auto_options  # noqa: PLC0415 - models load only in a worker that warms them (web processes import this module)

    if not model.is_auto:
        return [model]
    names = list(dict.fromkeys(auto_options(model).values()))
    return list(SpeechModel.objects.filter(name__in=names, provider="faster_whisper"))


def unload() -> int:
    """Drop every loaded speech, speaker and embedding model of this process and free (GPU) memory."""
    from knowledge import embeddings, english_vectors  # noqa: PLC0415 - models load only in a worker that warms them (web processes import this module)
    from stt_models.diarization import voices  # noqa: PLC0415 - models load only in a worker that warms them (web processes import this module)
    from stt_models.providers import faster_whisper  # noqa: PLC0415 - models load only in a worker that warms them (web processes import this module)

    count = faster_whisper.unload_all() + embeddings.unload_all() + voices.unload()
    english_vectors.forget()
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass
    log.info("unloaded %d model(s)", count)
    return count


def _warm_safely() -> None:
    try:
        warm_up(policy.model)
    except Exception:  # warm-up is best effort; the first task reports real errors
        log.exception("warm-up failed")
    finally:
        WARMED.set()


@worker_process_init.connect
def _warm_prefork_child(**kwargs: object) -> None:
    if policy.should_warm():
        _warm_safely()
    _mark_warm_child()


@worker_ready.connect
def _warm_solo(sender: object = None, **kwargs: object) -> None:
    pool = type(getattr(sender, "pool", None)).__module__  # the consumer's pool: celery.concurrency.thread, ...
    if policy.should_warm() and ("solo" in pool or "thread" in pool):
        _warm_safely()
