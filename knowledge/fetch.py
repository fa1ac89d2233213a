"""Download media from an http(s) URL for ingestion, guarded against server-side request forgery.

Every request, each redirect included, goes through ``core.outbound``: the host is
resolved once, every address must be public unless URL_FETCH_ALLOWLIST permits it, and the
connection goes to the address that was checked. Size (MAX_UPLOAD_SIZE) and time
(URL_FETCH_TIMEOUT, for the whole download) are enforced while streaming to a temporary file:
a watchdog closes the connection at the deadline, so a server that trickles one byte a second
cannot hold the download open. A web page instead of media is handed to yt-dlp when the
optional ``url`` extra is installed (``knowledge.platform_media``), under the same guard."""

from __future__ import annotations

import logging
import re
import tempfile
import threading
import time
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

import httpx
from django.conf import settings
from django.core.files import File
from django.template.defaultfilters import filesizeformat

from core import outbound
from core.errors import UserError
from knowledge.names import clean_file_name

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
READ_TIMEOUT = 30.0  # seconds without a byte before a read gives up (the deadline still bounds the whole)


class FetchError(UserError):
    """The URL cannot or may not be fetched; the message is one line for the user."""

    code = "fetch_failed"


class UnknownPage(FetchError):
    """A web page that none of the allowed yt-dlp extractors (URL_EXTRACTORS) knows."""


class IsWebPage(FetchError):
    """The URL answered with a web page, not a file: ``platform_media.fetch_media`` hands it to
    yt-dlp within the same ``deadline``."""

    code = "web_page"

    def __init__(self, url: str, deadline: Deadline) -> None:
        super().__init__(f"{url} is a web page, not audio or video")
        self.deadline = deadline


class FetchedFile(File):
    """A downloaded file (a temporary file, removed on close) and the URL it came from."""

    def __init__(self, file: tempfile._TemporaryFileWrapper, name: str, source_url: str) -> None:
        super().__init__(file, name=name)
        self.source_url = source_url


def check_url(url: str, *, allow_credentials: bool = False) -> None:
    """Refuse a URL that may not be fetched (or, for webhooks, posted to) before anything is
    done with it. Downloads refuse credentials in the URL; webhook targets may carry them."""
    try:
        outbound.check_url(url, allow_credentials=allow_credentials)
    except outbound.AddressRefused as exc:
        raise FetchError(str(exc)) from None


def url_file_name(url: str) -> str:
    """The file name a URL's path ends with ('download' when it has none)."""
    return clean_file_name(unquote(urlsplit(url).path.rstrip("/"))) or "download"


def _filename(response: httpx.Response, url: str) -> str:
    disposition = response.headers.get("content-disposition", "")
    if match := re.search(r"filename\*?=(?:UTF-8'')?\"?([^\";]+)", disposition, re.IGNORECASE):
        return clean_file_name(unquote(match.group(1))) or url_file_name(url)
    return url_file_name(url)


class Deadline:
    """The whole download's time limit. ``watch(response)`` closes the response when it passes,
    which ends a read that is waiting on a slow server."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.at = seconds, time.monotonic() + seconds
        self._timer: threading.Timer | None = None

    @property
    def passed(self) -> bool:
        return time.monotonic() >= self.at

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def watch(self, response: httpx.Response) -> None:
        self._timer = threading.Timer(self.remaining(), response.close)
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def error(self, url: str) -> FetchError:
        return FetchError(f"downloading {url} took longer than {self.seconds:g} s (URL_FETCH_TIMEOUT)")


# Called with the bytes received so far, after each read; may raise to stop (a cancel).
Progress = Callable[[int], None]


def fetch(url: str, on_progress: Progress | None = None) -> FetchedFile:
    """Download the file at ``url`` to a temporary file; FetchError with a one-line reason when it
    fails, IsWebPage when it is a page (``platform_media.fetch_media`` takes pages too)."""
    deadline = Deadline(settings.URL_FETCH_TIMEOUT)
    timeout = httpx.Timeout(min(READ_TIMEOUT, settings.URL_FETCH_TIMEOUT))
    headers = {"Accept": "audio/*, video/*, */*;q=0.5"}
    client = outbound.guarded_client(timeout=timeout, follow_redirects=True, max_redirects=MAX_REDIRECTS)
    with client:
        try:
            with client.stream("GET", url, headers=headers) as response:
                deadline.watch(response)
                try:
                    return _save(response, url, deadline, on_progress or (lambda received: None))
                finally:
                    deadline.cancel()
        except outbound.AddressRefused as exc:
            raise FetchError(str(exc)) from None
        except httpx.TooManyRedirects:
            raise FetchError(f"more than {MAX_REDIRECTS} redirects from {url}") from None
        except httpx.HTTPError as exc:
            if deadline.passed:
                raise deadline.error(url) from None
            raise FetchError(f"cannot download {url}: {type(exc).__name__}: {exc}") from None


def _save(response: httpx.Response, url: str, deadline: Deadline, on_progress: Progress) -> FetchedFile:
    limit = settings.MAX_UPLOAD_SIZE
    if response.status_code != 200:
        raise FetchError(f"the server answered {response.status_code} {response.reason_phrase} for {url}")
    if response.headers.get("content-type", "").split(";")[0].strip() in ("text/html", "application/xhtml+xml"):
        raise IsWebPage(url, deadline)
    declared = response.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise FetchError(f"{url} is {filesizeformat(int(declared))}, over the upload limit of {filesizeformat(limit)}")
    out = tempfile.NamedTemporaryFile(prefix="fetch-", suffix=".part")
    size = 0
    try:
        for chunk in response.iter_bytes():  # each read as it arrives: the deadline is checked on every one
            if deadline.passed:
                raise deadline.error(url)
            size += len(chunk)
            if size > limit:
                raise FetchError(f"{url} is over the upload limit of {filesizeformat(limit)}")
            out.write(chunk)
            on_progress(size)
        if deadline.passed:  # the watchdog closed the stream, which may end the loop quietly
            raise deadline.error(url)
    except httpx.HTTPError as exc:
        out.close()
        if deadline.passed:
            raise deadline.error(url) from None
        raise FetchError(f"the download of {url} broke off: {type(exc).__name__}: {exc}") from None
    except BaseException:  # our own refusals, and a cancel raised by on_progress
        out.close()
        raise
    out.flush()
    out.seek(0)
    return FetchedFile(out, _filename(response, str(response.url)), url)
