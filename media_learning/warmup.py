"""Optional warm-up: load the default speech model and the embedding model when a worker
process starts, so the first document does not pay for loading them (STT_WARMUP=1)."""

from __future__ import annotations

import logging

import numpy as np
from celery.signals import worker_process_init, worker_ready
from django.conf import settings

log = logging.getLogger(__name__)


def warm_up() -> None:
    from knowledge import embeddings
    from stt_models.registry import get_provider, resolve_speech_model

    try:
        model = resolve_speech_model(None)
        get_provider(model).transcribe(np.zeros(8000, dtype=np.float32), {})
        embeddings.embed(["warm up"])
        log.info("warmed up speech model %s and embeddings %s", model.name, embeddings.model_name())
    except Exception:
        log.exception("warm-up failed")


@worker_process_init.connect
def _warm_prefork_child(**kwargs: object) -> None:
    if settings.STT_WARMUP:
        warm_up()


@worker_ready.connect
def _warm_solo(sender: object = None, **kwargs: object) -> None:
    pool = getattr(getattr(sender, "pool_cls", None), "__module__", "")
    if settings.STT_WARMUP and ("solo" in pool or "thread" in pool):
        warm_up()
