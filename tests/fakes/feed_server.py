"""A local web server for feeds (RSS 2.0, Atom, or any bytes) on 127.0.0.1, on a thread, with
conditional GET as a well-behaved site does it.

``server.serve("/forum.xml", rss([...]), etag='"v1"', last_modified="Tue, 01 Dec 2026 10:00:00 GMT")``
publishes a document; a GET whose ``If-None-Match`` names the current ETag, or (without
``If-None-Match``) whose ``If-Modified-Since`` is not before ``Last-Modified``, gets ``304 Not
Modified`` with no body; anything else gets ``200`` with the document, its ``Content-Type``, ETag and
Last-Modified. Unknown paths answer 404 (a query string is ignored). ``script`` holds answers (:class:`Reply`) given first, one
per request, in order (a 503, a 429 with ``Retry-After``); ``requests`` records every request with
its headers (lower-case names).

:func:`rss` and :func:`atom` write documents from :class:`Item` s; an item's ``html`` goes in
escaped (RSS ``description``, Atom ``content type="html"``), as real feeds carry markup.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr


@dataclass(frozen=True, slots=True)
class Item:
    id: str | None
    title: str
    html: str = ""
    link: str | None = None
    published: datetime | None = None
    author: str | None = None


@dataclass(frozen=True, slots=True)
class Document:
    body: bytes
    content_type: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Request:
    path: str
    headers: dict[str, str]


def http_date(at: datetime) -> str:
    return format_datetime(at.astimezone(UTC), usegmt=True)


def rss(items: Iterable[Item], title: str = "Forum Zakupowiczów", language: str | None = "pl-PL") -> bytes:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>',
        f"<title>{escape(title)}</title><link>https://forum.example.pl/</link>",
        "<description>Nowe posty</description>",
    ]
    if language:
        parts.append(f"<language>{language}</language>")
    for item in items:
        parts.append("<item>")
        parts.append(f"<title>{escape(item.title)}</title>")
        if item.id is not None:
            permalink = "true" if item.id.startswith("http") else "false"
            parts.append(f"<guid isPermaLink={quoteattr(permalink)}>{escape(item.id)}</guid>")
        if item.link is not None:
            parts.append(f"<link>{escape(item.link)}</link>")
        if item.html:
            parts.append(f"<description>{escape(item.html)}</description>")
        if item.published is not None:
            parts.append(f"<pubDate>{http_date(item.published)}</pubDate>")
        if item.author is not None:
            parts.append(f"<dc:creator>{escape(item.author)}</dc:creator>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts).encode()


def atom(items: Iterable[Item], title: str = "Opinie o sklepach") -> bytes:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="hu">',
        f"<title>{escape(title)}</title><id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>",
        "<updated>2026-12-01T10:00:00Z</updated>",
    ]
    for item in items:
        parts.append("<entry>")
        parts.append(f'<title type="text">{escape(item.title)}</title>')
        if item.id is not None:
            parts.append(f"<id>{escape(item.id)}</id>")
        if item.link is not None:
            parts.append(f'<link rel="alternate" href={quoteattr(item.link)}/>')
        if item.published is not None:
            stamp = item.published.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            parts.append(f"<published>{stamp}</published><updated>{stamp}</updated>")
        if item.author is not None:
            parts.append(f"<author><name>{escape(item.author)}</name></author>")
        if item.html:
            parts.append(f'<content type="html">{escape(item.html)}</content>')
        parts.append("</entry>")
    parts.append("</feed>")
    return "\n".join(parts).encode()


class FeedServer:
    def __init__(self) -> None:
        self.documents: dict[str, Document] = {}
        self.script: list[Reply] = []
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()

    def serve(
        self,
        path: str,
        body: bytes,
        content_type: str = "application/rss+xml; charset=utf-8",
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None:
        with self._lock:
            self.documents[path] = Document(body, content_type, etag, last_modified)

    def requests_to(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def answer(self, path: str, headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(Request(path, headers))
            if self.script:
                return self.script.pop(0)
            document = self.documents.get(urlsplit(path).path)
        if document is None:
            return Reply(404, b"<html>not found</html>", {"content-type": "text/html"})
        validators = {}
        if document.etag is not None:
            validators["etag"] = document.etag
        if document.last_modified is not None:
            validators["last-modified"] = document.last_modified
        if _not_modified(document, headers):
            return Reply(304, b"", validators)
        return Reply(200, document.body, {"content-type": document.content_type, **validators})


def _not_modified(document: Document, headers: Mapping[str, str]) -> bool:
    wanted = headers.get("if-none-match")
    if wanted is not None:
        tags = {tag.strip() for tag in wanted.split(",")}
        return document.etag is not None and (document.etag in tags or "*" in tags)
    since = headers.get("if-modified-since")
    if since is None or document.last_modified is None:
        return False
    try:
        return parsedate_to_datetime(since) >= parsedate_to_datetime(document.last_modified)
    except (TypeError, ValueError):
        return False


def _handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            reply = server.answer(self.path, {k.lower(): v for k, v in self.headers.items()})
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.status != 304:
                self.send_header("content-length", str(len(reply.body)))
            self.end_headers()
            if reply.status != 304:
                self.wfile.write(reply.body)

        def log_message(self, *_: Any) -> None:
            pass

    return Handler
