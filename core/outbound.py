"""Requests this server sends to addresses that someone typed in: media downloads
(``knowledge.fetch``, yt-dlp included), webhooks (``knowledge.webhooks``) and the speech and
LLM model servers of the registries (``base_url``). Each goes through one guard against
server-side request forgery.

The host is resolved once and every address it resolves to must be public (not loopback,
private, link-local, the cloud metadata address, shared or reserved) unless the operator's
allowlist for that kind of request permits it: ``URL_FETCH_ALLOWLIST`` for downloads and
webhooks, ``MODEL_URL_ALLOWLIST`` for model servers (a LAN vLLM, a local Ollama). The
connection then goes to the address that was checked, with the original Host header and TLS
server name, so that a second DNS answer cannot point it elsewhere (DNS rebinding). As an
httpx transport (``GuardedTransport``) it checks every request, redirects included.

It lives in ``core``, below every app, so that each may use it (stt_models, llm_models, knowledge).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from core.errors import UserError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DOWNLOADS = "URL_FETCH_ALLOWLIST"  # file_url downloads, yt-dlp and webhooks
MODEL_SERVERS = "MODEL_URL_ALLOWLIST"  # base_url of speech and LLM models


class AddressRefused(UserError):
    """The URL may not be requested; the message is one line for the user."""

    code = "address_refused"


def parse_allowlist(entries: list[str]) -> list[tuple[Network, int | None]]:
    """Allowlist entries: a network ("10.0.0.0/8"), an address, or an address with a port
    ("127.0.0.1:8080", "[::1]:8080")."""
    parsed = []
    for raw in entries:
        address, port = raw.strip(), None
        if not address:
            continue
        if match := re.fullmatch(r"\[?([^\]/]+?)\]?:(\d+)", address):
            if ":" not in match.group(1) or address.startswith("["):  # not a bare IPv6 address
                address, port = match.group(1), int(match.group(2))
        parsed.append((ipaddress.ip_network(address, strict=False), port))
    return parsed


def forbidden(address: IPAddress, port: int, allowlist: str) -> bool:
    """Whether ``address:port`` is off limits under the allowlist setting named ``allowlist``."""
    mapped = getattr(address, "ipv4_mapped", None)
    for candidate in filter(None, (address, mapped)):
        for network, allowed_port in parse_allowlist(getattr(settings, allowlist)):
            if candidate in network and allowed_port in (None, port):
                return False
    return not address.is_global or bool(mapped and not mapped.is_global)


def resolve_public(host: str, port: int, allowlist: str = DOWNLOADS) -> IPAddress:
    """The address to connect to; AddressRefused when the host resolves to none or to any that
    is forbidden (one bad answer among good ones is refused too)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise AddressRefused(f"cannot resolve host {host!r}: {exc}") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not addresses:
        raise AddressRefused(f"cannot resolve host {host!r}")
    if bad := [a for a in addresses if forbidden(a, port, allowlist)]:
        raise AddressRefused(
            f"refusing to connect to {host} ({bad[0]}): not a public address "
            f"(loopback, private, link-local and metadata addresses are blocked; see {allowlist})"
        )
    return addresses[0]


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int


def parse_target(url: str | httpx.URL, *, allow_credentials: bool = False) -> Target:
    """The scheme, host and port of an http(s) URL; AddressRefused for anything else."""
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise AddressRefused("the URL is not valid") from None
    if parsed.scheme not in ("http", "https"):
        raise AddressRefused(f"only http and https URLs are allowed, not {parsed.scheme or 'a relative URL'!r}")
    if not parsed.host:
        raise AddressRefused("the URL has no host")
    if parsed.userinfo and not allow_credentials:
        raise AddressRefused("URLs with credentials are not accepted")
    return Target(parsed.scheme, parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80))


def check_url(url: str, *, allowlist: str = DOWNLOADS, allow_credentials: bool = False) -> IPAddress:
    """Refuse a URL that may not be requested before anything is done with it; the address it
    resolves to now."""
    target = parse_target(url, allow_credentials=allow_credentials)
    return resolve_public(target.host, target.port, allowlist)


class GuardedTransport(httpx.HTTPTransport):
    """An httpx transport that checks each request's host and connects to the checked address."""

    def __init__(self, allowlist: str = DOWNLOADS, *, allow_credentials: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.allowlist, self.allow_credentials = allowlist, allow_credentials

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        target = parse_target(request.url, allow_credentials=self.allow_credentials)
        address = resolve_public(target.host, target.port, self.allowlist)
        # A copy goes to the checked address: the request itself keeps its URL, which httpx
        # resolves relative redirects against. Its Host header was set from that URL, and TLS
        # checks the certificate against the name.
        pinned = httpx.Request(
            request.method, request.url.copy_with(host=str(address)), headers=request.headers,
            stream=request.stream, extensions={**request.extensions, "sni_hostname": target.host},
        )  # fmt: skip
        return super().handle_request(pinned)


def guarded_client(allowlist: str = DOWNLOADS, *, allow_credentials: bool = False, **kwargs: Any) -> httpx.Client:
    """An httpx client whose every request (and redirect) passes the guard; no proxy from the
    environment, which would connect to addresses nobody checked."""
    transport = GuardedTransport(allowlist, allow_credentials=allow_credentials)
    return httpx.Client(transport=transport, trust_env=False, **kwargs)
