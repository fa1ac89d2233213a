"""A forward HTTP proxy on loopback, for the length of one download, through which a third-party
downloader (yt-dlp) makes every request: each CONNECT (https) or absolute-URL request (http) is
checked by ``core.outbound`` and connected to the address that was checked, so the
downloader reaches nothing the guard would refuse, whatever page or extractor sent it there.
All connections together are bounded in bytes and by the download's deadline; past either,
every connection is cut. Refusals are recorded, to tell the user why the download failed.

Only this process can use it: it listens on 127.0.0.1 with an ephemeral port and is closed
when the download ends."""

from __future__ import annotations

import logging
import selectors
import socket
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

from core import outbound

log = logging.getLogger(__name__)

HEAD_LIMIT = 64 * 1024
CONNECT_TIMEOUT = 15.0
BUFFER = 64 * 1024


class GuardProxy:
    def __init__(self, *, byte_limit: int, remaining: Callable[[], float], allowlist: str = outbound.DOWNLOADS) -> None:
        self.byte_limit, self.remaining, self.allowlist = byte_limit, remaining, allowlist
        self.received = 0
        self.refused: list[str] = []
        self.over_limit = False
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._closed = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> GuardProxy:
        accept = threading.Thread(target=self._accept, name="guard-proxy", daemon=True)
        accept.start()
        self._threads.append(accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed.set()
        self._listener.close()
        with self._lock:
            for sock in list(self._sockets):
                _close(sock)
        for thread in self._threads:
            thread.join(timeout=5)

    def _track(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            self._sockets.add(sock)
        return sock

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(self._track(client),), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, client: socket.socket) -> None:
        upstream = None
        try:
            client.settimeout(CONNECT_TIMEOUT)
            head, rest = _read_head(client)
            method, target, version = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
            if method == "CONNECT":
                host, _, port_text = target.rpartition(":")
                host, port = host.strip("[]"), int(port_text)
                upstream = self._connect(client, host, port)
                if upstream is None:
                    return
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                first = rest
            else:
                parts = urlsplit(target)
                if parts.scheme != "http" or not parts.hostname:
                    return self._refuse(client, f"only http(s) URLs may be downloaded, not {target[:100]!r}")
                upstream = self._connect(client, parts.hostname, parts.port or 80)
                if upstream is None:
                    return
                first = _origin_form(head, method, parts, version) + rest
            if first:
                upstream.sendall(first)
            self._relay(client, upstream)
        except (OSError, ValueError, UnicodeError) as exc:
            log.debug("guard proxy connection ended: %s", exc)
        finally:
            for sock in filter(None, (client, upstream)):
                _close(sock)

    def _connect(self, client: socket.socket, host: str, port: int) -> socket.socket | None:
        if self._closed.is_set() or self.remaining() <= 0:
            self._refuse(client, "the download ran out of time (URL_FETCH_TIMEOUT)")
            return None
        try:
            address = outbound.resolve_public(host, port, self.allowlist)
        except outbound.AddressRefused as exc:
            self._refuse(client, str(exc))
            return None
        try:
            upstream = socket.create_connection((str(address), port), timeout=min(CONNECT_TIMEOUT, self.remaining()))
        except OSError as exc:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            log.debug("guard proxy could not reach %s:%s: %s", host, port, exc)
            return None
        return self._track(upstream)

    def _refuse(self, client: socket.socket, reason: str) -> None:
        with self._lock:
            self.refused.append(reason)
        body = reason.encode()
        client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                       b"Content-Length: %d\r\n\r\n%s" % (len(body), body))  # fmt: skip

    def _relay(self, client: socket.socket, upstream: socket.socket) -> None:
        """Copy both ways until either side closes, the deadline passes or the byte budget is spent."""
        selector = selectors.DefaultSelector()
        selector.register(client, selectors.EVENT_READ, upstream)
        selector.register(upstream, selectors.EVENT_READ, client)
        try:
            while not self._closed.is_set():
                left = self.remaining()
                if left <= 0:
                    return
                for key, _ in selector.select(timeout=min(1.0, left)):
                    data = key.fileobj.recv(BUFFER)
                    if not data:
                        return
                    if key.fileobj is upstream:
                        with self._lock:
                            self.received += len(data)
                            if self.received > self.byte_limit:
                                self.over_limit = True
                                return
                    key.data.sendall(data)
        finally:
            selector.close()


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ValueError("the client closed before sending a request")
        data += chunk
        if len(data) > HEAD_LIMIT:
            raise ValueError("request head too long")
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _origin_form(head: bytes, method: str, parts, version: str) -> bytes:  # noqa: ANN001 - a SplitResult
    """The proxied request as the origin server expects it: its path, without proxy headers, and
    one request per connection."""
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {path} {version}".encode("latin-1")]
    for line in head.split(b"\r\n")[1:]:
        name = line.split(b":", 1)[0].strip().lower()
        if name in (b"proxy-connection", b"proxy-authorization", b"connection", b"keep-alive"):
            continue
        lines.append(line)
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
