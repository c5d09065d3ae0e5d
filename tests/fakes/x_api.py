"""A local X API v2 recent search (``GET /2/tweets/search/recent``) on 127.0.0.1, on a thread.

What it answers, shaped as X does (only the fields the collector asks for)::

    200 {"data": [{"id", "text", "created_at", "author_id", "conversation_id", "lang",
                   "edit_history_tweet_ids", ["in_reply_to_user_id", "referenced_tweets",
                   "note_tweet"]}, ...],                           newest first
         "includes": {"users": [{"id", "name", "username",
                                 "public_metrics": {"followers_count", ...}}, ...]},
         "meta": {"newest_id", "oldest_id", "result_count", ["next_token"]}}
    200 {"meta": {"result_count": 0}}                               nothing matches
    400 {"errors": [{"parameters": {...}, "message": ...}], "title": "Invalid Request", ...}
    401 {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}

The query itself is not evaluated: every stored post matches. ``since_id`` and ``until_id``
(exclusive) and ``start_time`` narrow, ``max_results`` (10..100) sizes a page, and ``next_token``
continues after the last post of the page it came with (so posts added meanwhile do not shift the
pages). Every answer carries ``x-rate-limit-limit``, ``x-rate-limit-remaining`` and
``x-rate-limit-reset`` (epoch seconds) from ``limit``, ``remaining`` and ``reset``.

Faults on purpose: ``script`` is a list of :class:`Reply` answered, one per request and in order,
before the normal handling (a 429 with a reset header, a 500, a 403 body); ``requests`` records
what came in. Use it as ``with FakeX() as x: ... x.url ...``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

TOKEN = "AAAA-test-bearer-token-0123456789"
X_EPOCH_MS = 1288834974657


def snowflake(at: datetime, sequence: int = 0) -> str:
    """An X id for a post written at ``at`` (the milliseconds since X's epoch above 22 bits)."""
    ms = int(at.timestamp() * 1000) - X_EPOCH_MS
    return str((ms << 22) | (sequence & 0x3FFFFF))


def x_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class Reply:
    status: int = 200
    body: Any = None
    """A dict or list (sent as JSON), str or bytes (sent as they are), or None (empty)."""
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Request:
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    """Lower-case names."""


class FakeX:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.posts: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.script: list[Reply] = []
        self.requests: list[Request] = []
        self.limit = 450
        self.remaining = 449
        self.reset = 2_000_000_000
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        """The API base URL (``collectors.x.api_url``)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/2"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- content -------------------------------------------------------------------------------

    def user(self, user_id: str, username: str, followers: int = 10, name: str | None = None) -> None:
        self.users[user_id] = {
            "id": user_id,
            "name": name or username.title(),
            "username": username,
            "public_metrics": {
                "followers_count": followers,
                "following_count": 3,
                "tweet_count": 100,
                "listed_count": 0,
                "like_count": 7,
            },
        }

    def post(
        self,
        at: datetime,
        text: str,
        author_id: str = "100",
        *,
        sequence: int = 0,
        conversation_id: str | None = None,
        replied_to: str | None = None,
        quoted: str | None = None,
        lang: str = "pl",
        note: str | None = None,
    ) -> str:
        """Store a post written at ``at``; returns its id."""
        post_id = snowflake(at, sequence)
        post: dict[str, Any] = {
            "id": post_id,
            "text": text,
            "created_at": x_time(at),
            "author_id": author_id,
            "conversation_id": conversation_id or post_id,
            "lang": lang,
            "edit_history_tweet_ids": [post_id],
        }
        references = []
        if replied_to is not None:
            references.append({"type": "replied_to", "id": replied_to})
            post["in_reply_to_user_id"] = "999"
        if quoted is not None:
            references.append({"type": "quoted", "id": quoted})
        if references:
            post["referenced_tweets"] = references
        if note is not None:
            post["note_tweet"] = {"text": note}
        with self._lock:
            self.posts[post_id] = post
        return post_id

    # -- answering -----------------------------------------------------------------------------

    def answer(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(Request(path, params, headers))
            if self.script:
                return self.script.pop(0)
        if headers.get("authorization") != f"Bearer {self.token}":
            return Reply(
                401, {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
            )
        if path != "/2/tweets/search/recent":
            return Reply(404, {"title": "Not Found Error", "detail": f"Could not find {path}"})
        problem = _invalid(params)
        if problem is not None:
            return Reply(400, _invalid_request(*problem))
        return Reply(200, self._search(params))

    def _search(self, params: dict[str, str]) -> dict[str, Any]:
        since = int(params.get("since_id", "0"))
        until = int(params["until_id"]) if "until_id" in params else None
        start = params.get("start_time")
        token = params.get("next_token")
        after = int(token.removeprefix("nt-"), 16) if token else None
        with self._lock:
            posts = sorted(self.posts.values(), key=lambda p: int(p["id"]), reverse=True)
        chosen = [
            p
            for p in posts
            if int(p["id"]) > since
            and (until is None or int(p["id"]) < until)
            and (after is None or int(p["id"]) < after)
            and (start is None or p["created_at"] >= start.replace("Z", ".000Z"))
        ]
        size = int(params.get("max_results", "10"))
        page, rest = chosen[:size], chosen[size:]
        if not page:
            return {"meta": {"result_count": 0}}
        authors = dict.fromkeys(p["author_id"] for p in page)
        meta: dict[str, Any] = {
            "newest_id": page[0]["id"],
            "oldest_id": page[-1]["id"],
            "result_count": len(page),
        }
        if rest:
            meta["next_token"] = f"nt-{int(page[-1]['id']):x}"
        return {
            "data": page,
            "includes": {"users": [self.users[a] for a in authors if a in self.users]},
            "meta": meta,
        }

    def rate_headers(self) -> dict[str, str]:
        return {
            "x-rate-limit-limit": str(self.limit),
            "x-rate-limit-remaining": str(self.remaining),
            "x-rate-limit-reset": str(self.reset),
        }

    def searches(self) -> list[dict[str, str]]:
        """The query parameters of every search request, in order."""
        return [r.params for r in self.requests]


def _invalid(params: Mapping[str, str]) -> tuple[str, str] | None:
    if not params.get("query"):
        return "query", "The `query` query parameter can not be empty"
    size = params.get("max_results", "10")
    if not size.isdigit() or not 10 <= int(size) <= 100:
        return "max_results", f"The `max_results` query parameter value [{size}] is not between 10 and 100"
    for name in ("since_id", "until_id"):
        if name in params and not params[name].isdigit():
            return name, f"The `{name}` query parameter value [{params[name]}] is not valid"
    if "since_id" in params and "start_time" in params:
        return "since_id", "`since_id` and `start_time` can not both be given"  # stricter than X
    return None


def _invalid_request(parameter: str, message: str) -> dict[str, Any]:
    return {
        "errors": [{"parameters": {parameter: ["..."]}, "message": message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }


def _handler(fake: FakeX) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = fake.answer(parts.path, params, headers)
            body = reply.body
            if isinstance(body, dict | list):
                data = json.dumps(body).encode()
            elif isinstance(body, str):
                data = body.encode()
            else:
                data = body or b""
            self.send_response(reply.status)
            sent = {**fake.rate_headers(), **reply.headers}
            sent.setdefault("content-type", "application/json; charset=utf-8")
            for name, value in sent.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: Any) -> None:
            pass

    return Handler
