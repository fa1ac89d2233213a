"""Settings for the test suite: the same real services, an isolated queue and media folder."""

from settings.settings import *  # noqa: F403
from settings.settings import VAR_DIR, celery_queues, role_queue_names

CELERY_QUEUE_PREFIX = "test-"
CELERY_ROLE_QUEUES = role_queue_names(CELERY_QUEUE_PREFIX)
CELERY_TASK_QUEUES, CELERY_TASK_ROUTES, CELERY_TASK_DEFAULT_QUEUE = celery_queues(CELERY_ROLE_QUEUES)
STT_WARMUP = False
LLM_RETRY_BACKOFF = 0.05
TASK_KILL_STUCK = False  # the suite's worker is a thread of the test process
MEDIA_ROOT = VAR_DIR / "test-media"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
UPLOAD_RATE = ""  # the throttling test sets its own
SEARCH_RATE = ""
AUDIO_RATE = ""
HIGH_PRIORITY_RATE = ""
CACHE_KEY_PREFIX = "kb-test"  # the suite's subprocesses get it too (tests/processes.py)
CACHES = {"default": {**CACHES["default"], "KEY_PREFIX": CACHE_KEY_PREFIX}}  # noqa: F405
WEBHOOK_RETRY_BACKOFF = 0.2
MEDIA_RETRY_BACKOFF = 1.0  # Celery's smallest backoff step: retries wait 0-1 s, 0-2 s
# The suite's stand-ins for model servers listen on loopback, with these key variables; the
# security tests set their own.
MODEL_URL_ALLOWLIST = ["127.0.0.0/8"]
MODEL_API_KEY_ENVS = ["STT_KEY", "TEST_STT_KEY", "TEST_LLM_KEY", "NO_SUCH_KEY_VAR", "OPENAI_API_KEY"]
