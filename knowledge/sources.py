"""Watched folders and feeds: new media ingested into a knowledge base, once each.

A folder (a local path, a network mount included) is walked for media files (by suffix, hidden
files and folders skipped); a file still being written (changed in the last SETTLE_SECONDS) waits
for the next look. Each file is known by its SHA-256: one seen before is passed over, one the
knowledge base already holds is recorded as skipped with the reason, any other is ingested through
``ingest.create_documents`` (the API's path) and, when the source says so, moved to ``move_to``.

A feed (podcast RSS or Atom) is fetched through the outbound guard (as ``file_url`` is) with a
size and time limit and parsed with feedparser; a feed URL that is a web page is read as a channel
or playlist with yt-dlp (the optional url extra, knowledge/platform_media.py: the same guard,
extractor list and time limit, nothing downloaded). Each item's media (its enclosure, its link,
or the video's page) is checked with ``fetch.check_url`` and queued as a download by a worker,
once per item id.

Every look records its outcome on the source (``checked_at``, ``error``: a folder that
disappeared, a feed that is HTML, a host that is refused); nothing else is lost when one fails.
``manage.py watch`` and the beat task ``knowledge.poll_sources`` call ``poll``.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import feedparser
import httpx
from django.conf import settings
from django.core.files import File
from django.db.models import Q
from django.utils import timezone

from core import outbound
from core.errors import FieldErrors, UserError
from knowledge import fetch, ingest, platform_media
from knowledge.models import Document, Source, SourceItem, SourceKind
from knowledge.names import clean_file_name, clean_name

log = logging.getLogger(__name__)

SETTLE_SECONDS = 10.0  # a file changed more recently than this may still be being copied
MAX_FEED_BYTES = 10 * 1024**2
FEED_TIMEOUT = 30.0
MAX_NEW_PER_LOOK = 100  # items queued by one look; the rest wait for the next
MAX_PLAYLIST_ITEMS = 500  # a channel's latest items listed per look
FEED_TYPES = ("audio/", "video/")


class SourceError(UserError):
    """The source cannot be read now: a one-line reason (recorded on it)."""

    code = "source_unreadable"


class WebPage(SourceError):
    """The feed's URL answered with a web page (perhaps a channel or playlist)."""


@dataclass
class Look:
    ingested: list[Document] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    waiting: int = 0  # files still being written
    error: str = ""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def media_files(folder: Path) -> list[Path]:
    """The media files under ``folder`` (not hidden), oldest first."""
    if not folder.is_dir():
        raise SourceError(f"the folder {folder} does not exist or is not mounted")
    found = []
    try:
        for path in folder.rglob("*"):
            relative = path.relative_to(folder).parts
            if any(part.startswith(".") for part in relative) or not path.is_file() or path.is_symlink():
                continue
            if path.suffix.lower() in ingest.MEDIA_SUFFIXES:
                found.append(path)
    except OSError as exc:
        raise SourceError(f"the folder {folder} cannot be read: {exc.strerror or exc}") from None
    return sorted(found, key=lambda p: (p.stat().st_mtime, str(p)))


def _record(source: Source, key: str, name: str, document: Document | None, reason: str = "") -> None:
    values = {"name": name[:500], "document": document, "ingested": document is not None, "reason": reason[:500]}
    SourceItem.objects.get_or_create(source=source, key=key, defaults=values)


def _plan(source: Source) -> ingest.Processing:
    return ingest.resolve_processing(source.stt_model_id, source.llm_model_id, dict(source.options),
                                     knowledge_base=source.knowledge_base)  # fmt: skip


def _move(path: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    n = 1
    while target.exists():
        n += 1
        target = folder / f"{path.stem} ({n}){path.suffix}"
    shutil.move(str(path), target)


def poll_folder(source: Source, look: Look) -> None:
    folder = Path(source.location)
    seen = set(source.items.values_list("key", flat=True))
    plan = _plan(source)
    now = time.time()
    for path in media_files(folder):
        if len(look.ingested) >= MAX_NEW_PER_LOOK:
            break
        try:
            if now - path.stat().st_mtime < SETTLE_SECONDS:
                look.waiting += 1
                continue
            digest = _sha256(path)
        except OSError as exc:  # gone or unreadable meanwhile
            look.skipped.append((path.name, f"cannot be read: {exc.strerror or exc}"))
            continue
        if digest in seen:
            continue
        name = clean_file_name(path.name) or "media"
        held = ingest.held_copy(source.knowledge_base_id, digest)
        if held is not None:
            reason = f"already in the knowledge base as document {held.pk} ({held.name!r})"
            # recorded once per file (by path), and known by its bytes from now on
            _record(source, "dup:" + hashlib.sha256(f"{path}\n{digest}".encode()).hexdigest(), name, None, reason)
            _record(source, digest, name, None, reason)
            seen.add(digest)
            look.skipped.append((name, reason))
            continue
        with open(path, "rb") as fh:
            (doc,) = ingest.create_documents(
                source.knowledge_base, [File(fh, name=name)], stt_model=plan.stt_model, llm_model=plan.llm_model,
                options=plan.options, llm_options=plan.llm_options, owner=source.owner,
            )  # fmt: skip
        _record(source, digest, name, doc)
        look.ingested.append(doc)
        if source.move_to:
            try:
                _move(path, Path(source.move_to))
            except OSError as exc:
                look.skipped.append((name, f"ingested, but not moved to {source.move_to}: {exc.strerror or exc}"))


def _fetch_feed(url: str) -> bytes:
    try:
        fetch.check_url(url)
    except fetch.FetchError as exc:
        raise SourceError(str(exc)) from None
    client = outbound.guarded_client(timeout=httpx.Timeout(FEED_TIMEOUT), follow_redirects=True, max_redirects=5)
    started = time.monotonic()
    accept = {"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.1"}
    try:
        with client, client.stream("GET", url, headers=accept) as response:
            if response.status_code != 200:
                raise SourceError(f"the feed answered {response.status_code} {response.reason_phrase}")
            kind = response.headers.get("content-type", "").split(";")[0].strip()
            if kind in ("text/html", "application/xhtml+xml"):
                raise WebPage(f"{url} is a web page ({kind}), not an RSS or Atom feed")
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_FEED_BYTES:
                    raise SourceError(f"the feed is over {MAX_FEED_BYTES // 1024**2} MiB")
                if time.monotonic() - started > FEED_TIMEOUT:
                    raise SourceError(f"the feed took longer than {FEED_TIMEOUT:g} s")
            return body
    except outbound.AddressRefused as exc:
        raise SourceError(str(exc)) from None
    except httpx.HTTPError as exc:
        raise SourceError(f"cannot read the feed: {type(exc).__name__}: {exc}") from None


def feed_items(body: bytes) -> list[tuple[str, str, str]]:
    """(item id, title, media URL) of each item with media, oldest first; SourceError when the
    body is not an RSS or Atom feed."""
    parsed = feedparser.parse(body)
    if not parsed.get("version") and not parsed.entries:
        raise SourceError("not an RSS or Atom feed")
    items = []
    for entry in parsed.entries:
        url = ""
        for link in entry.get("enclosures", []) + entry.get("links", []):
            if str(link.get("type", "")).startswith(FEED_TYPES) and link.get("href"):
                url = link["href"]
                break
        url = url or entry.get("link", "")
        ident = entry.get("id") or url
        if url and ident:
            items.append((str(ident), clean_name(str(entry.get("title") or ""), 300), str(url)))
    return list(reversed(items))  # feeds list the newest first


def channel_items(url: str, page: WebPage) -> list[tuple[str, str, str]]:
    """The items of a channel or playlist page, as ``feed_items`` gives a feed's (yt-dlp)."""
    try:
        return platform_media.playlist(url, FEED_TIMEOUT, limit=MAX_PLAYLIST_ITEMS)
    except fetch.UnknownPage:
        raise SourceError(f"{page}, nor a channel or playlist the allowed extractors know (URL_EXTRACTORS)") from None
    except fetch.FetchError as exc:
        raise SourceError(f"{page}; read as a channel or playlist: {exc}") from None


def poll_feed(source: Source, look: Look) -> None:
    try:
        items = feed_items(_fetch_feed(source.location))
    except WebPage as page:
        items = channel_items(source.location, page)
    seen = set(source.items.values_list("key", flat=True))
    plan = _plan(source)
    for ident, title, url in items:
        if len(look.ingested) >= MAX_NEW_PER_LOOK:
            break
        key = hashlib.sha256(ident.encode()).hexdigest()
        if key in seen:
            continue
        seen.add(key)
        name = title or fetch.url_file_name(url)
        try:
            fetch.check_url(url)
        except fetch.FetchError as exc:
            _record(source, key, name, None, str(exc))
            look.skipped.append((name, str(exc)))
            continue
        (doc,) = ingest.create_documents(source.knowledge_base, [], urls=[url], stt_model=plan.stt_model,
                                         llm_model=plan.llm_model, options=plan.options,
                                         llm_options=plan.llm_options, owner=source.owner,
                                         name=title or None)  # fmt: skip
        _record(source, key, name, doc)
        look.ingested.append(doc)


def poll(source: Source) -> Look:
    """Look at the source once; its outcome is recorded on it."""
    look = Look()
    try:
        (poll_folder if source.kind == SourceKind.FOLDER else poll_feed)(source, look)
    except (SourceError, FieldErrors) as exc:
        look.error = str(exc)
    except ingest.DuplicateMedia as exc:  # a knowledge base that refuses duplicates, within one look
        look.error = str(exc)
    source.checked_at, source.error = timezone.now(), look.error[:500]
    Source.objects.filter(pk=source.pk).update(checked_at=source.checked_at, error=source.error)
    if look.error:
        log.warning("source %s (%s): %s", source.pk, source.location, look.error)
    return look


def due() -> list[Source]:
    """Enabled sources whose interval has passed since their last look."""
    now = timezone.now()
    sources = Source.objects.filter(enabled=True).select_related("knowledge_base")
    return [s for s in sources.filter(Q(checked_at__isnull=True) | Q(checked_at__lt=now))
            if s.checked_at is None or (now - s.checked_at).total_seconds() >= s.interval]  # fmt: skip


def poll_due() -> int:
    """Look at every source that is due; the documents queued."""
    queued = 0
    for source in due():
        queued += len(poll(source).ingested)
    return queued


def allowed_folder(path: str) -> Path:
    """A folder the operator allows sources to watch (WATCH_FOLDERS: prefixes; empty: any)."""
    folder = Path(path).expanduser().resolve()
    roots = [Path(p).expanduser().resolve() for p in getattr(settings, "WATCH_FOLDERS", [])]
    if roots and not any(folder == root or root in folder.parents for root in roots):
        raise SourceError(f"{folder} is not under the folders sources may watch (WATCH_FOLDERS)")
    return folder
