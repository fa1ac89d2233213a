"""Worker remote-control commands behind ``manage.py stt_models warmup|unload``.

They run in each worker's main process. With the solo or threads pool the models live there,
so they are loaded or dropped in place. With the prefork pool they live in the pool's child
processes, which the main process cannot reach: it sets the warm-up policy (the children are
forked from it and inherit it) and restarts the pool, so the new children start warm or cold.
An exiting child gives back all of its memory, GPU memory included.
"""

from __future__ import annotations

import os
from typing import Any

from celery.worker.control import control_command
from django.db import connection

from media_learning import warmup


def _is_prefork(state: Any) -> bool:
    from celery.concurrency.prefork import TaskPool  # noqa: PLC0415 - only a prefork worker needs the pool class

    return isinstance(state.consumer.pool, TaskPool)


def _restart_pool(state: Any) -> None:
    state.consumer.controller.reload(modules=[], reload=False)


@control_command(args=[("model", str)], signature="[model]")
def stt_warmup(state: Any, model: str = "") -> dict[str, str]:
    warmup.policy.enabled, warmup.policy.model = True, model or None
    if _is_prefork(state):
        _restart_pool(state)
        return {"ok": "pool restarting: new processes load the models"}
    try:
        return {"ok": f"loaded {warmup.warm_up(model or None)}"}
    finally:
        connection.close()  # not a task: Celery's Django fixup would leave it open


@control_command()
def stt_unload(state: Any) -> dict[str, str]:
    warmup.policy.enabled = False
    if _is_prefork(state):
        _restart_pool(state)
        return {"ok": "pool restarting: models freed, new processes start without them"}
    return {"ok": f"unloaded {warmup.unload()} model(s)"}


@control_command()
def stt_loaded(state: Any) -> dict[str, Any]:
    """What this worker holds: the models loaded in its process (solo and threads pools), or,
    for prefork, whether its pool processes start warm and with which model."""
    from knowledge import embeddings  # noqa: PLC0415 - models load only in a worker that warms them (web processes import this module)
    from stt_models.providers import faster_whisper  # noqa: PLC0415 - models load only in a worker that warms them (web processes import this module)

    if _is_prefork(state):
        processes = state.consumer.pool.num_processes
        return {
            "pool": "prefork",
            "warmup": warmup.policy.should_warm(),
            "warmup_model": warmup.policy.model or "default",
            "warm": warmup.warm_children(os.getpid()) >= processes,  # every pool process (health's ready)
        }
    return {
        "pool": type(state.consumer.pool).__module__.rsplit(".", 1)[-1],
        "speech_models": [str(key[0]) for key in faster_whisper.loaded_models()],
        "embedding_models": [str(key[0]) for key in list(embeddings._models)],
        "warm": warmup.WARMED.is_set() or not warmup.policy.should_warm(),
    }
