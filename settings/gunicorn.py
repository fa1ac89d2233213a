"""gunicorn settings hooks (``gunicorn settings.wsgi --config python:settings.gunicorn``).

Each web worker loads what a search needs (torch, the embedding model with its ONNX query
encoder, jieba's dictionary) on a background thread as it starts, so that the first search
does not wait about 5 s for them. ``SEARCH_WARMUP=0`` turns it off.
"""

from __future__ import annotations

import threading
from typing import Any


def post_worker_init(worker: Any) -> None:
    from django.conf import settings

    if settings.SEARCH_WARMUP:
        from knowledge.search import warm_up

        threading.Thread(target=warm_up, name="search-warm-up", daemon=True).start()
