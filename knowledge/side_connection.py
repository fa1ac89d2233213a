"""A second database connection for one part of a search, run beside the rest of it.

A search of a large knowledge base spends most of its time in two database queries that do not
depend on each other: the keyword ranking (BM25 over postings, which grows with the knowledge
base: at 1,000,000 paragraphs 22 ms of a 40 ms search) and the vector ranking, which waits for
the query's embedding. Run one after the other on the request's connection, the request waits for
both; with the keyword ranking on this module's thread (its own connection, kept open like the
request's), PostgreSQL computes it on one core while the query is embedded and ranked by meaning
on the other.

It is worth it only where the keyword ranking is long: on a small knowledge base handing work to
a thread costs about what it saves (bench/search.py; ``SEARCH_BESIDE_FROM``). It is never used
inside a transaction: the other connection would not see the transaction's own rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from django.conf import settings
from django.db import connection

T = TypeVar("T")

# One thread per process: it keeps its own connection (Django's connections are per thread). A
# search that arrives while another has it runs its keyword ranking on its own connection.
_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="search-beside")
_busy = threading.Lock()


def usable(paragraphs: int) -> bool:
    """Whether a search over ``paragraphs`` paragraphs should run its keyword ranking beside:
    a knowledge base at least SEARCH_BESIDE_FROM large (0: never), outside any transaction."""
    threshold = settings.SEARCH_BESIDE_FROM
    return 0 < threshold <= paragraphs and not connection.in_atomic_block


def _on_thread(call: Callable[..., T], *args: object) -> T:
    """``call(*args)`` on the pool thread's own connection: closed first where an error broke it or
    it is older than CONN_MAX_AGE, as Django does for a request's."""
    try:
        connection.close_if_unusable_or_obsolete()
        return call(*args)
    finally:
        _busy.release()


def submit(call: Callable[..., T], *args: object) -> Future[T] | None:
    """``call(*args)`` started on the side connection, or None when another search has it now (the
    caller then runs ``call`` on its own connection)."""
    if not _busy.acquire(blocking=False):
        return None
    try:
        return _pool.submit(_on_thread, call, *args)
    except BaseException:
        _busy.release()
        raise


def close() -> None:
    """Close the side connection (it opens again on next use): before its database is dropped."""
    with _busy:
        _pool.submit(lambda: connection.close()).result()  # the pool thread's own connection
