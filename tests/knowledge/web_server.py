"""A real HTTP server on loopback standing in for the internet: media files to download, a
podcast feed, redirects, a web page, a page of embedded talks, an endless file, and a webhook
receiver that records what it gets and answers with scripted status codes."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.conftest import fixture_path
from tests.loopback import JsonHandler, LoopbackServer


class WebServer(LoopbackServer):
    def __init__(self) -> None:
        self.hooks: list[dict[str, Any]] = []
        self.hook_statuses: list[int] = []  # answered in turn; 200 once exhausted
        self.episodes: list[tuple[str, str, str]] = []  # /feed.xml: (guid, title, fixture name), oldest first
        self.talks: list[str] = []  # /talks: a page that embeds these fixtures (a playlist to yt-dlp)
        server = self

        class Handler(JsonHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                if parts.path.startswith("/media/"):
                    data = fixture_path(parts.path.removeprefix("/media/")).read_bytes()
                    self.send_body(200, data, content_type="audio/mpeg")
                elif parts.path == "/redirect":
                    self.send_body(302, b"", headers={"Location": query["to"][0]})
                elif parts.path == "/feed.xml":  # a podcast feed whose episodes are this server's media
                    self.send_body(200, server.feed().encode(), content_type="application/rss+xml")
                elif parts.path == "/talks":
                    audio = "".join(f'<audio controls src="/media/{name}"></audio>' for name in server.talks)
                    page = f"<html><head><title>Talks</title></head><body>{audio}</body></html>"
                    self.send_body(200, page.encode(), content_type="text/html")
                elif parts.path == "/page":
                    self.send_body(200, b"<html><body>a video page</body></html>", content_type="text/html")
                elif parts.path == "/big":
                    self.send_body(200, b"\0" * 300_000, content_type="application/octet-stream")
                elif parts.path == "/missing":
                    self.send_json(404, {"error": "no such file"})
                else:
                    self.send_json(404, {"error": parts.path})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.hooks.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                     "json": json.loads(body or b"null")})  # fmt: skip
                status = server.hook_statuses.pop(0) if server.hook_statuses else 200
                self.send_json(status, {"received": status == 200})

        self.serve(Handler)

    def feed(self) -> str:
        """RSS 2.0 with an audio enclosure per episode in ``episodes`` ((guid, title, fixture name)),
        newest first as podcasts list them."""
        items = "".join(
            f"<item><guid>{guid}</guid><title>{title}</title>"
            f'<enclosure url="{self.root}/media/{name}" type="audio/mpeg" length="1"/></item>'
            for guid, title, name in reversed(self.episodes)
        )
        return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Talks</title>{items}</channel></rss>'

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.httpd.server_address[1]}"
