"""Django's Redis cache on the embedded Redis: started (or found running) on first use, not when
the settings are imported (settings/embedded.py)."""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache
from django.utils.functional import cached_property

from settings import embedded


class EmbeddedRedisCache(RedisCache):
    @cached_property
    def _cache(self) -> Any:
        embedded.ensure_configured_redis()
        return super()._cache
