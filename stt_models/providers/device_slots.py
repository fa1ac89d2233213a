"""At most N transcriptions at once per GPU on one machine, across every worker process and
thread (faster-whisper on one GPU gains nothing from more, and runs out of memory): a slot is
an exclusive ``flock`` on a file under VAR_DIR/locks, released when the transcription ends or
its process dies. Slots are named by the physical device: a worker pinned with ``--gpu 3``
(CUDA_VISIBLE_DEVICES=3) sees that GPU as index 0, and its slot is ``cuda3-slot0``."""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

log = logging.getLogger(__name__)


def physical_device(index: int) -> str:
    """The device this process calls ``index``, as the machine knows it: its entry in
    CUDA_VISIBLE_DEVICES (a number, or a GPU-/MIG- UUID), else the index itself."""
    visible = [part.strip() for part in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if part.strip()]
    name = visible[index] if 0 <= index < len(visible) else str(index)
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


@contextmanager
def device_slot(device: str, index: int | list[int], per_device: int, lock_dir: Path) -> Iterator[str]:
    """Hold one free slot of the GPU(s) ``index`` for the duration; nothing to hold on the CPU."""
    if device == "cpu" or per_device <= 0:
        yield "cpu"
        return
    lock_dir.mkdir(parents=True, exist_ok=True)
    indexes = index if isinstance(index, list) else [index]
    names = [f"{device}{physical_device(i)}-slot{n}" for i in indexes for n in range(per_device)]
    waited = False
    while True:
        for name in names:
            lock = FileLock(lock_dir / f"{name}.lock", mode=0o600, thread_local=False)
            try:
                lock.acquire(blocking=False)
            except Timeout:
                continue
            try:
                yield name
            finally:
                lock.release()
            return
        if not waited:
            log.info("waiting for a free %s slot (%d per device)", device, per_device)
            waited = True
        time.sleep(0.2)
