"""A worker gives the memory a task freed back to the system when the task ends (glibc's
malloc_trim, media_learning/memory.py)."""

from __future__ import annotations

import weakref

import psutil
from celery.signals import task_postrun

from media_learning import memory


def test_a_worker_gives_freed_memory_back_after_each_task():
    process = psutil.Process()
    blocks = [bytearray(8192) for _ in range(40_000)]  # 320 MiB in blocks glibc keeps in its heap
    kept = blocks[::2]  # every other one stays: no free block at the heap's top to trim on free
    del blocks
    before = process.memory_info().rss

    assert memory.release() is True
    assert before - process.memory_info().rss > 50 * 2**20, "the freed half stayed in the heap"
    live = [r() if isinstance(r, weakref.ReferenceType) else r for _, r in task_postrun.receivers]
    assert memory._after_task in live  # after every task
    assert len(kept) == 20_000
