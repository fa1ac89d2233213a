"""Per-user rate limits on uploads, searches, questions and audio renditions (DRF throttling), read from
settings at request time: UPLOAD_RATE, SEARCH_RATE, ASK_RATE and AUDIO_RATE, e.g. "30/minute"; empty
switches the limit off. The counts
live in Django's cache, which is the broker's Redis when the broker is Redis, so that every web
process shares them."""

from __future__ import annotations

import logging

from django.conf import settings
from rest_framework.throttling import UserRateThrottle

log = logging.getLogger(__name__)


class _SettingRateThrottle(UserRateThrottle):
    """A limit whose rate is the setting named after its scope: scope "upload", UPLOAD_RATE."""

    def get_rate(self) -> str | None:
        return getattr(settings, f"{self.scope.upper()}_RATE") or None

    def allow_request(self, request, view) -> bool:  # noqa: ANN001 - DRF's signature
        if request.method in ("GET", "HEAD", "OPTIONS") and self.scope == "upload":
            return True  # listing documents is not uploading
        return self.allow_many(request, 1)

    def allow_many(self, request, count: int) -> bool:  # noqa: ANN001 - a DRF request
        """Count ``count`` uses at once, all or none (a batch that does not fit spends nothing),
        as DRF's ``allow_request`` counts one."""
        self.rate = self.get_rate()
        if self.rate is None or count <= 0:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            self.key = self.get_cache_key(request, None)
            self.history, self.now = self.cache.get(self.key, []), self.timer()
            while self.history and self.history[-1] <= self.now - self.duration:
                self.history.pop()
            if len(self.history) + count > self.num_requests:
                return self.throttle_failure()
            self.history[:0] = [self.now] * count
            self.cache.set(self.key, self.history, self.duration)
        except Exception as exc:  # noqa: BLE001 - the cache (Redis) is down: limits must not break uploads
            log.warning("rate limit not checked, the cache is unavailable: %s: %s", type(exc).__name__, exc)
        return True


class UploadRateThrottle(_SettingRateThrottle):
    scope = "upload"


class SearchRateThrottle(_SettingRateThrottle):
    scope = "search"


class AskRateThrottle(_SettingRateThrottle):
    """Questions asked (each may cost LLM tokens)."""

    scope = "ask"


class AudioRateThrottle(_SettingRateThrottle):
    """Audio renditions asked for (finished ones are served without counting)."""

    scope = "audio"


class HighPriorityThrottle(_SettingRateThrottle):
    """Documents a user (not staff) may upload at priority high: they overtake everyone's queue."""

    scope = "high_priority"
