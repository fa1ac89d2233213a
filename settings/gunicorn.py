"""gunicorn settings hooks (``gunicorn settings.wsgi --config python:settings.gunicorn``).

Each web worker loads what a search needs (torch, the embedding model with its ONNX query
encoder, jieba's dictionary) before it takes its first request, so that no request waits for
them (about 5 s alone, 20-30 s while the other processes of ``make run`` load theirs on the same
two cores): a worker still warming up does not accept connections, the ones that are warm take
them, and ``/api/health/`` answers from a warm process. ``SEARCH_WARMUP=0`` turns it off.
"""

from __future__ import annotations

from typing import Any


def post_worker_init(worker: Any) -> None:
    from django.conf import settings  # noqa: PLC0415 - gunicorn reads this file before Django is set up

    if settings.SEARCH_WARMUP:
        from knowledge.search import warm_up  # noqa: PLC0415 - gunicorn reads this file before Django is set up

        warm_up()
