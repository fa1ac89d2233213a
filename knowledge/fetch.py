"""Download media from an http(s) URL for ingestion, guarded against server-side request forgery.

The host is resolved and every address must be public (not loopback, private, link-local, the
cloud metadata address, shared or reserved) unless URL_FETCH_ALLOWLIST permits it; the
connection then goes to the address that was checked (no second lookup to rebind), with the
original Host header and TLS server name. Redirects are followed by hand, each hop checked the
same way. Size (MAX_UPLOAD_SIZE) and time (URL_FETCH_TIMEOUT) are limited while streaming to a
temporary file. A web page instead of media is handed to yt-dlp when the optional ``url`` extra
is installed (requirements/url.txt)."""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import httpx
from django.conf import settings
from django.core.files import File
from django.template.defaultfilters import filesizeformat

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class FetchError(ValueError):
    """The URL cannot or may not be fetched; the message is one line for the user."""


class FetchedFile(File):
    """A downloaded file (a temporary file, removed on close) and the URL it came from."""

    def __init__(self, file: tempfile._TemporaryFileWrapper, name: str, source_url: str) -> None:
        super().__init__(file, name=name)
        self.source_url = source_url


def _allowlist() -> list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, int | None]]:
    """URL_FETCH_ALLOWLIST entries: a network ("10.0.0.0/8"), an address, or an address with a
    port ("127.0.0.1:8080", "[::1]:8080")."""
    entries = []
    for raw in settings.URL_FETCH_ALLOWLIST:
        address, port = raw.strip(), None
        if match := re.fullmatch(r"\[?([^\]/]+?)\]?:(\d+)", address):
            if ":" not in match.group(1) or address.startswith("["):  # not a bare IPv6 address
                address, port = match.group(1), int(match.group(2))
        entries.append((ipaddress.ip_network(address, strict=False), port))
    return entries


def _forbidden(address: IPAddress, port: int) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    for candidate in filter(None, (address, mapped)):
        for network, allowed_port in _allowlist():
            if candidate in network and allowed_port in (None, port):
                return False
    return not address.is_global or bool(mapped and not mapped.is_global)


def resolve_public(host: str, port: int) -> IPAddress:
    """The address to connect to; FetchError when the host resolves to none or to a forbidden one."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve host {host!r}: {exc}") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not addresses:
        raise FetchError(f"cannot resolve host {host!r}")
    if bad := [a for a in addresses if _forbidden(a, port)]:
        raise FetchError(
            f"refusing to fetch from {host} ({bad[0]}): not a public address "
            "(loopback, private, link-local and metadata addresses are blocked; see URL_FETCH_ALLOWLIST)"
        )
    return addresses[0]


def _target(url: str, allow_credentials: bool = False) -> tuple[str, str, int, IPAddress]:
    """(scheme, host, port, checked address) of an http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"only http and https URLs can be fetched, not {parts.scheme or 'a relative URL'!r}")
    if not parts.hostname:
        raise FetchError("the URL has no host")
    if (parts.username or parts.password) and not allow_credentials:
        raise FetchError("URLs with credentials are not accepted")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise FetchError("the URL has an invalid port") from None
    return parts.scheme, parts.hostname, port, resolve_public(parts.hostname, port)


def check_url(url: str, *, allow_credentials: bool = False) -> None:
    """Refuse a URL that may not be fetched (or, for webhooks, posted to) before anything is
    done with it. Downloads refuse credentials in the URL; webhook targets may carry them."""
    _target(url, allow_credentials)


def _pinned_request(client: httpx.Client, url: str) -> httpx.Response:
    scheme, host, port, address = _target(url)
    parts = urlsplit(url)
    ip_host = f"[{address}]" if address.version == 6 else str(address)
    pinned = urlunsplit((scheme, f"{ip_host}:{port}", parts.path or "/", parts.query, ""))
    default_port = port == (443 if scheme == "https" else 80)
    headers = {"Host": host if default_port else f"{host}:{port}", "Accept": "audio/*, video/*, */*;q=0.5"}
    request = client.build_request("GET", pinned, headers=headers, extensions={"sni_hostname": host})
    return client.send(request, stream=True)


def _filename(response: httpx.Response, url: str) -> str:
    disposition = response.headers.get("content-disposition", "")
    if match := re.search(r"filename\*?=(?:UTF-8'')?\"?([^\";]+)", disposition, re.IGNORECASE):
        name = unquote(match.group(1))
    else:
        name = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    name = Path(name.replace("\\", "/")).name.strip()  # never a path
    return name[:200] or "download"


def fetch(url: str) -> FetchedFile:
    """Download ``url`` to a temporary file; FetchError with a one-line reason when it fails."""
    limit, deadline = settings.MAX_UPLOAD_SIZE, time.monotonic() + settings.URL_FETCH_TIMEOUT
    timeout = httpx.Timeout(min(30.0, settings.URL_FETCH_TIMEOUT))
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response = _pinned_request(client, current)
            except httpx.HTTPError as exc:
                raise FetchError(f"cannot download {url}: {type(exc).__name__}: {exc}") from None
            if response.is_redirect:
                response.close()
                current = urljoin(current, response.headers["location"])
                continue
            try:
                return _save(response, url, current, limit, deadline)
            finally:
                response.close()
        raise FetchError(f"more than {MAX_REDIRECTS} redirects from {url}")


def _save(response: httpx.Response, url: str, final_url: str, limit: int, deadline: float) -> FetchedFile:
    if response.status_code != 200:
        raise FetchError(f"the server answered {response.status_code} {response.reason_phrase} for {url}")
    if response.headers.get("content-type", "").split(";")[0].strip() in ("text/html", "application/xhtml+xml"):
        return _from_page(url)
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise FetchError(f"{url} is {filesizeformat(int(declared))}, over the upload limit of {filesizeformat(limit)}")
    out = tempfile.NamedTemporaryFile(prefix="fetch-", suffix=".part")
    size = 0
    try:
        for chunk in response.iter_bytes(1024 * 1024):
            size += len(chunk)
            if size > limit:
                raise FetchError(f"{url} is over the upload limit of {filesizeformat(limit)}")
            if time.monotonic() > deadline:
                raise FetchError(f"downloading {url} took longer than {settings.URL_FETCH_TIMEOUT} s")
            out.write(chunk)
    except httpx.HTTPError as exc:
        out.close()
        raise FetchError(f"the download of {url} broke off: {type(exc).__name__}: {exc}") from None
    except FetchError:
        out.close()
        raise
    out.flush()
    out.seek(0)
    return FetchedFile(out, _filename(response, final_url), url)


def _from_page(url: str) -> FetchedFile:
    """A platform page (YouTube, TikTok, ...): let yt-dlp find and download its media."""
    try:
        import yt_dlp
    except ImportError:
        raise FetchError(
            f"{url} is a web page, not audio or video; install the url extra (pip install -r "
            "requirements/url.txt) to ingest media from platform pages"
        ) from None
    folder = Path(tempfile.mkdtemp(prefix="yt-dlp-"))
    options = {
        "format": "bestaudio/best", "outtmpl": str(folder / "%(title).150B.%(ext)s"), "noplaylist": True,
        "max_filesize": settings.MAX_UPLOAD_SIZE, "socket_timeout": 30, "quiet": True, "no_warnings": True,
    }  # fmt: skip
    try:
        with yt_dlp.YoutubeDL(options) as downloader:
            downloader.extract_info(url, download=True)
    except Exception as exc:  # noqa: BLE001 - yt-dlp raises its own DownloadError and more
        raise FetchError(f"yt-dlp could not get media from {url}: {str(exc).splitlines()[0][:300]}") from None
    files = sorted(p for p in folder.iterdir() if p.is_file())
    if not files:
        raise FetchError(f"yt-dlp found no media at {url}")
    handle = tempfile.NamedTemporaryFile(prefix="fetch-")
    with files[0].open("rb") as source:
        while chunk := source.read(1024 * 1024):
            handle.write(chunk)
    for path in files:
        path.unlink()
    folder.rmdir()
    handle.seek(0)
    return FetchedFile(handle, files[0].name, url)
