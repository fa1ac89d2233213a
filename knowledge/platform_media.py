"""Media from platform pages (YouTube, Bilibili, Douyin, ...) through yt-dlp, the optional ``url``
extra (requirements/url.txt), with the same limits as any download:

- every request yt-dlp makes goes through ``GuardProxy`` (its ``proxy`` option covers each of its
  request handlers), so an address the guard refuses is never reached, whatever the page links to;
- only the extractors in URL_EXTRACTORS run (default: yt-dlp's own list without ``generic``,
  which would follow any link found in any page); only native downloaders, never an external
  program; file:// URLs stay off; one item of a playlist at most;
- URL_FETCH_TIMEOUT bounds the whole download and MAX_UPLOAD_SIZE the media (and, with room for
  pages and scripts, every byte received);
- its temporary folder is removed whatever happens.

``playlist`` lists the items of a channel or playlist page (a watched feed that is not RSS or
Atom) without downloading any, through the same guard, extractor list and time limit.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.template.defaultfilters import filesizeformat

from knowledge.fetch import Deadline, FetchedFile, FetchError, IsWebPage, Progress, UnknownPage, fetch
from knowledge.guard_proxy import GuardProxy
from knowledge.names import clean_file_name

log = logging.getLogger(__name__)

PAGE_ALLOWANCE = 64 * 1024 * 1024  # bytes of pages, scripts and manifests beside the media itself


class _Quiet:
    """yt-dlp's logger: its messages go to our log at debug level, never to the console."""

    def debug(self, message: str) -> None:
        log.debug("yt-dlp: %s", message)

    info = warning = debug

    def error(self, message: str) -> None:
        log.info("yt-dlp: %s", message)


def fetch_media(url: str, on_progress: Progress | None = None) -> FetchedFile:
    """The media at ``url``: the file itself, or the media of its page through yt-dlp (within the
    same URL_FETCH_TIMEOUT); FetchError with a one-line reason when it cannot be had."""
    try:
        return fetch(url, on_progress)
    except IsWebPage as page:
        return download(url, page.deadline, on_progress or (lambda received: None))


def download(url: str, deadline: Deadline, on_progress: Progress) -> FetchedFile:
    """The media of the page at ``url``; FetchError with a one-line reason when there is none or
    it may not be fetched."""
    try:
        import yt_dlp
    except ImportError:
        raise FetchError(
            f"{url} is a web page, not audio or video; install the url extra (pip install -r "
            "requirements/url.txt) to ingest media from platform pages"
        ) from None
    limit = settings.MAX_UPLOAD_SIZE
    folder = Path(tempfile.mkdtemp(prefix="yt-dlp-"))
    proxy = GuardProxy(byte_limit=limit + PAGE_ALLOWANCE, remaining=deadline.remaining)

    stopped: list[BaseException] = []  # what a hook raised, whatever yt-dlp wraps it in

    def hook(state: dict[str, Any]) -> None:
        try:
            if deadline.passed:
                raise deadline.error(url)
            received = state.get("downloaded_bytes") or 0
            if received > limit:
                raise FetchError(f"{url} is over the upload limit of {filesizeformat(limit)}")
            on_progress(received)
        except BaseException as exc:
            stopped.append(exc)
            raise

    options = {
        "format": "bestaudio/best", "paths": {"home": str(folder), "temp": str(folder)},
        "outtmpl": "media.%(ext)s", "noplaylist": True, "playlist_items": "1", "max_filesize": limit,
        "proxy": proxy.url, "allowed_extractors": settings.URL_EXTRACTORS, "enable_file_urls": False,
        "external_downloader": {"default": "native"}, "socket_timeout": 30, "cachedir": False,
        "progress_hooks": [hook], "logger": _Quiet(), "quiet": True, "no_warnings": True,
        "noprogress": True, "color": "no_color", "updatetime": False,
    }  # fmt: skip
    try:
        with proxy:
            try:
                with yt_dlp.YoutubeDL(options) as downloader:
                    info = downloader.extract_info(url, download=True) or {}
            except Exception as exc:  # noqa: BLE001 - yt-dlp raises DownloadError and much else
                if stopped:
                    raise stopped[0] from None  # our own limit, or a cancel
                raise _reason(url, exc, proxy, deadline) from None
        files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.endswith((".part", ".ytdl")))
        if not files:
            raise FetchError(f"yt-dlp found no media at {url}")
        handle = tempfile.NamedTemporaryFile(prefix="fetch-")
        with files[0].open("rb") as source:
            shutil.copyfileobj(source, handle, 1024 * 1024)
        handle.seek(0)
        title = clean_file_name(str(info.get("title") or ""), 150)
        name = f"{title}{files[0].suffix}" if title else files[0].name
        return FetchedFile(handle, name, url)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _entry_url(entry: dict[str, Any]) -> str:
    """Where an item's media is: its page (a channel's or playlist's reference to a video), else
    the media URL found on the playlist page itself (never the playlist page again)."""
    if entry.get("_type") in ("url", "url_transparent"):
        return str(entry.get("url") or "")
    if entry.get("url"):
        return str(entry["url"])
    formats = [f for f in entry.get("formats") or [] if f.get("url")]
    if formats:
        return str(formats[-1]["url"])  # yt-dlp sorts formats worst to best
    return str(entry.get("webpage_url") or "")


def playlist(url: str, seconds: float, limit: int = 500) -> list[tuple[str, str, str]]:
    """(item id, title, URL) of the items of the channel or playlist page at ``url``, as listed
    (a page with one video is a list of one); FetchError with a one-line reason when the page has
    none that the allowed extractors know, or may not be read."""
    try:
        import yt_dlp
    except ImportError:
        raise FetchError(
            f"{url} is a web page, not a feed; install the url extra (pip install -r requirements/url.txt) to "
            "follow channels and playlists"
        ) from None
    deadline = Deadline(seconds)
    proxy = GuardProxy(byte_limit=PAGE_ALLOWANCE, remaining=deadline.remaining)
    options = {
        "extract_flat": "in_playlist", "skip_download": True, "playlistend": limit, "proxy": proxy.url,
        "allowed_extractors": settings.URL_EXTRACTORS, "enable_file_urls": False, "socket_timeout": 30,
        "cachedir": False, "logger": _Quiet(), "quiet": True, "no_warnings": True, "noprogress": True,
        "color": "no_color",
    }  # fmt: skip
    with proxy:
        try:
            with yt_dlp.YoutubeDL(options) as lister:
                info = lister.extract_info(url, download=False) or {}
        except Exception as exc:  # noqa: BLE001 - yt-dlp raises DownloadError and much else
            raise _reason(url, exc, proxy, deadline) from None
    entries = list(info.get("entries") or []) if info.get("_type") == "playlist" else [info]
    source = str(info.get("extractor_key") or info.get("extractor") or "page")
    items = []
    for entry in entries[:limit]:
        if not entry:
            continue
        link = _entry_url(entry)
        key = entry.get("id") and f"{entry.get('ie_key') or entry.get('extractor_key') or source}:{entry['id']}"
        if link and link.startswith(("http://", "https://")):
            items.append((str(key or link), clean_file_name(str(entry.get("title") or ""), 300), link))
    if not items:
        raise FetchError(f"{url} lists no media items")
    return items


def _reason(url: str, exc: Exception, proxy: GuardProxy, deadline: Deadline) -> Exception:
    if proxy.refused:
        return FetchError(f"yt-dlp could not get media from {url}: {proxy.refused[0]}")
    if deadline.passed:
        return deadline.error(url)
    if proxy.over_limit:
        return FetchError(f"{url} is over the upload limit of {filesizeformat(settings.MAX_UPLOAD_SIZE)}")
    text = " ".join(str(exc).split())
    if "Unsupported URL" in text or "No suitable extractor" in text:
        return UnknownPage(f"{url} is a web page without media that the allowed extractors know (URL_EXTRACTORS)")
    return FetchError(f"yt-dlp could not get media from {url}: {text[:300]}")
