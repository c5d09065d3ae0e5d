"""A local Graph API (Facebook pages, Messenger, Instagram) for the page source's tests.

A :class:`FakeGraph` holds an in-memory model the test fills (:meth:`FakeGraph.post`,
:meth:`~FakeGraph.comment`, :meth:`~FakeGraph.message`, :meth:`~FakeGraph.media`,
:meth:`~FakeGraph.ig_comment`, :meth:`~FakeGraph.delete`) and serves it over HTTP on 127.0.0.1 from
a thread (``with FakeGraph() as graph: graph.url``), in the documented response shapes:

- ``GET /v23.0/{page-id}/posts|feed|visitor_posts``, ``/{post-id}/comments`` (``filter=stream``: every
  comment and reply, replies with ``parent``; default ``toplevel``; ``order=chronological`` or
  ``reverse_chronological``), ``/{comment-id}/comments``, ``/{page-id}/conversations``,
  ``/{conversation-id}/messages``, ``/{ig-user-id}/media``, ``/{media-id}/comments`` (with
  ``replies{...}`` nested, :attr:`FakeGraph.reply_page` at a time), ``/{ig-comment-id}/replies``;
- ``{"data": [...], "paging": {"cursors": {"before", "after"}, "next"}}``, ``next`` only when
  more follows; with :attr:`FakeGraph.next_only` the paging has no cursors and ``next`` carries an
  ``__paging_token`` (and an ``access_token``, as Graph's does when the token came in the URL);
- ``fields`` (nested selections in braces), ``since``/``until`` (Unix seconds, inclusive),
  ``limit`` (25 by default, at most 100), ``after``;
- errors as ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``: code 190
  for a missing or wrong ``Authorization: Bearer`` token, code 100 subcode 33 for an unknown or
  deleted object, code 10 for an id in :attr:`FakeGraph.denied`, and any :class:`Fault` queued;
- the usage headers in :attr:`FakeGraph.usage` (name -> JSON value) on every answer.

Every request is recorded (:attr:`FakeGraph.requests`), with its raw target and headers.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlencode, urlsplit

TOKEN = "EAAGfakePAGEtoken0123456789"
VERSION = "v23.0"
NOT_FOUND = (
    "Unsupported get request. Object with ID '{id}' does not exist, cannot be loaded due to missing "
    "permissions, or does not support this operation. Please read the Graph API documentation at "
    "https://developers.facebook.com/docs/graph-api"
)
DEFAULT_FIELDS = {
    "post": "id,message,created_time",
    "comment": "id,message,created_time,from",
    "conversation": "id,updated_time",
    "message": "id,created_time",
    "media": "id",
    "ig_comment": "id,text,timestamp",
}


def graph_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


@dataclass
class Fault:
    """An error answer for the next ``times`` requests whose path contains ``path`` (any when
    None). ``message`` may contain ``{token}``: the bearer token the request carried."""

    status: int = 400
    code: int | None = 613
    subcode: int | None = None
    message: str = "Calls to this api have exceeded the rate limit."
    path: str | None = None
    times: int = 1
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | None = None
    """A raw body instead of the Graph error object."""


@dataclass(frozen=True)
class Request:
    path: str
    """Below the version: ``1001/posts``."""
    params: dict[str, str]
    target: str
    """The request line's raw target, query included."""
    headers: dict[str, str]
    """Lower-case names."""


@dataclass
class Node:
    id: str
    kind: str
    """page, post, comment, conversation, message, ig_user, media, ig_comment."""
    owner: str
    """The page, post, conversation, account or media it belongs to."""
    created: datetime
    fields: dict[str, Any] = field(default_factory=dict)
    parent: str | None = None
    """The comment a reply answers."""
    visitor: bool = False


class FakeGraph:
    def __init__(self, token: str = TOKEN, page_id: str = "1001", instagram_id: str = "1784") -> None:
        self.token = token
        self.page_id = page_id
        self.instagram_id = instagram_id
        self.nodes: dict[str, Node] = {}
        self.usage: dict[str, Any] = {}
        self.faults: list[Fault] = []
        self.denied: dict[str, int] = {}
        """Object id -> the permission error code its edges answer with."""
        self.next_only = False
        self.reply_page = 25
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._add(Node(page_id, "page", "", datetime(2000, 1, 1, tzinfo=UTC), {"name": "Zakupowo.pl"}))
        self._add(
            Node(instagram_id, "ig_user", "", datetime(2000, 1, 1, tzinfo=UTC), {"username": "zakupowo"})
        )

    # -- the model --------------------------------------------------------------------------------

    def post(
        self,
        post_id: str,
        message: str | None,
        created: datetime,
        *,
        author: tuple[str, str] | None = None,
        visitor: bool = False,
        updated: datetime | None = None,
    ) -> Node:
        """A page post (``author`` None: by the page) or, with ``visitor``, a visitor post."""
        who = author or (self.page_id, "Zakupowo.pl")
        fields = {
            "message": message,
            "from": {"id": who[0], "name": who[1]},
            "permalink_url": f"https://www.facebook.com/{self.page_id}/posts/{post_id}",
            "updated_time": updated or created,
        }
        return self._add(Node(post_id, "post", self.page_id, created, fields, visitor=visitor))

    def comment(
        self,
        post_id: str,
        comment_id: str,
        message: str | None,
        created: datetime,
        *,
        author: tuple[str, str] | None = ("2001", "Anna Kowalska"),
        parent: str | None = None,
    ) -> Node:
        """A comment on ``post_id``, or a reply to comment ``parent`` on it; ``author`` None: Graph
        leaves ``from`` out."""
        fields: dict[str, Any] = {
            "message": message,
            "permalink_url": f"https://www.facebook.com/{post_id}?comment_id={comment_id}",
        }
        if author is not None:
            fields["from"] = {"id": author[0], "name": author[1]}
        node = self._add(Node(comment_id, "comment", post_id, created, fields, parent=parent))
        with self._lock:
            root = self.nodes[post_id]
            root.fields["updated_time"] = max(root.fields["updated_time"], created)
        return node

    def conversation(self, conversation_id: str, customer: tuple[str, str] = ("2002", "Jan Nowak")) -> Node:
        """A Messenger conversation between the page and ``customer``; its ``updated_time`` follows
        its newest message."""
        person = {"id": customer[0], "name": customer[1], "email": f"{customer[0]}@facebook.com"}
        start = datetime(2000, 1, 1, tzinfo=UTC)
        fields = {"updated_time": start, "customer": person}
        return self._add(Node(conversation_id, "conversation", self.page_id, start, fields))

    def message(
        self, conversation_id: str, message_id: str, text: str, created: datetime, *, from_page: bool = False
    ) -> Node:
        """A message in the conversation, from its customer or (``from_page``) from the page;
        ``text`` "" for an attachment alone."""
        if conversation_id not in self.nodes:
            self.conversation(conversation_id)
        customer = self.nodes[conversation_id].fields["customer"]
        page = {"id": self.page_id, "name": "Zakupowo.pl", "email": f"{self.page_id}@facebook.com"}
        sender, receiver = (page, customer) if from_page else (customer, page)
        fields = {"message": text, "from": sender, "to": {"data": [receiver]}}
        node = self._add(Node(message_id, "message", conversation_id, created, fields))
        with self._lock:
            conversation = self.nodes[conversation_id]
            conversation.fields["updated_time"] = max(conversation.fields["updated_time"], created)
        return node

    def media(self, media_id: str, caption: str | None, created: datetime) -> Node:
        fields = {
            "caption": caption,
            "username": "zakupowo",
            "permalink": f"https://www.instagram.com/p/{media_id}/",
            "media_type": "IMAGE",
        }
        return self._add(Node(media_id, "media", self.instagram_id, created, fields))

    def ig_comment(
        self,
        media_id: str,
        comment_id: str,
        text: str,
        created: datetime,
        *,
        user: tuple[str, str] = ("3001", "kasia.zakupy"),
        reply_to: str | None = None,
    ) -> Node:
        fields = {"text": text, "username": user[1], "from": {"id": user[0], "username": user[1]}}
        return self._add(Node(comment_id, "ig_comment", media_id, created, fields, parent=reply_to))

    def delete(self, object_id: str) -> None:
        """The object, and whatever hangs below it, is gone."""
        with self._lock:
            gone = {object_id}
            for node in self.nodes.values():
                if node.owner in gone or node.parent in gone:
                    gone.add(node.id)
            for node_id in gone:
                self.nodes.pop(node_id, None)

    def fail(self, *faults: Fault) -> None:
        with self._lock:
            self.faults.extend(faults)

    def paths(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.requests]

    def _add(self, node: Node) -> Node:
        with self._lock:
            self.nodes[node.id] = node
        return node

    # -- the server -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "start the fake first (with FakeGraph() as graph)"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/{VERSION}"

    def __enter__(self) -> Self:
        graph = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, headers, body = graph.answer(
                    self.path, {k.lower(): v for k, v in self.headers.items()}
                )
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True, name="fake-graph"
        )
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # -- answering --------------------------------------------------------------------------------

    def answer(self, target: str, headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
        parts = urlsplit(target)
        params = dict(parse_qsl(parts.query))
        path = parts.path.removeprefix(f"/{VERSION}/").strip("/")
        with self._lock:
            self.requests.append(Request(path, params, target, headers))
            usage = {name: json.dumps(value) for name, value in self.usage.items()}
            fault = self._fault(path)
            if fault is not None:
                return self._fault_answer(fault, headers, usage)
            bearer = headers.get("authorization", "").removeprefix("Bearer ")
            if bearer != self.token:
                return self._error(
                    400, 190, None, "Invalid OAuth access token - Cannot parse access token", usage
                )
            object_id, _, edge = path.partition("/")
            if object_id in self.denied:
                code = self.denied[object_id]
                return self._error(
                    403, code, None, f"(#{code}) Application does not have permission for this action", usage
                )
            node = self.nodes.get(object_id)
            if node is None or (edge and edge not in EDGES.get(node.kind, ())):
                return self._error(400, 100, 33, NOT_FOUND.format(id=object_id), usage)
            if not edge:
                return 200, usage, json.dumps(self._project(node, params.get("fields")))
            return 200, usage, json.dumps(self._edge(node, edge, params, path))

    def _fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.path is None or fault.path in path:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def _fault_answer(
        self, fault: Fault, headers: dict[str, str], usage: dict[str, str]
    ) -> tuple[int, dict[str, str], str]:
        answer_headers = {**usage, **fault.headers}
        if fault.body is not None:
            return fault.status, answer_headers, fault.body
        token = headers.get("authorization", "").removeprefix("Bearer ")
        message = fault.message.replace("{token}", token)
        return self._error(fault.status, fault.code, fault.subcode, message, answer_headers)

    def _error(
        self, status: int, code: int | None, subcode: int | None, message: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], str]:
        error: dict[str, Any] = {"message": message, "type": "OAuthException", "fbtrace_id": "AbCdEf123"}
        if code is not None:
            error["code"] = code
        if subcode is not None:
            error["error_subcode"] = subcode
        return status, headers, json.dumps({"error": error})

    def _edge(self, node: Node, edge: str, params: dict[str, str], path: str) -> dict[str, Any]:
        listing = self._members(node, edge, params)
        since, until = params.get("since"), params.get("until")
        if since is not None:
            listing.items = [i for i in listing.items if i.created.timestamp() >= int(since)]
        if until is not None:
            listing.items = [i for i in listing.items if i.created.timestamp() <= int(until)]
        limit = min(int(params.get("limit", 25)), 100)
        return self._page(listing, params, limit, path, lambda i: self._project(i, params.get("fields")))

    def _members(self, node: Node, edge: str, params: dict[str, str]) -> Listing:
        mine = [n for n in self.nodes.values() if n.owner == node.id]
        if node.kind == "page" and edge == "conversations":
            convs = [n for n in mine if n.kind == "conversation"]
            return Listing(convs, lambda n: (n.fields["updated_time"].timestamp(), n.id), descending=True)
        if node.kind == "page":
            posts = [n for n in mine if n.kind == "post"]
            if edge != "feed":
                posts = [n for n in posts if n.visitor == (edge == "visitor_posts")]
            return Listing(posts, _created, descending=True)
        if node.kind in ("conversation", "ig_user"):
            return Listing(mine, _created, descending=True)
        if node.kind == "post" and params.get("filter") == "stream":
            chosen = mine
        elif node.kind in ("post", "media"):
            chosen = [n for n in mine if n.parent is None]
        else:
            chosen = [n for n in self.nodes.values() if n.parent == node.id]
        chronological = params.get("order", "chronological") == "chronological"
        return Listing(chosen, _created, descending=not chronological)

    def _page(
        self, listing: Listing, params: dict[str, str], limit: int, path: str, show: Any
    ) -> dict[str, Any]:
        items = listing.ordered()
        cursor = params.get("after") or params.get("__paging_token")
        start = 0
        if cursor:
            position = tuple(json.loads(base64.urlsafe_b64decode(cursor.encode())))
            start = next((n for n, i in enumerate(items) if listing.beyond(i, position)), len(items))
        chunk = items[start : start + limit]
        body: dict[str, Any] = {"data": [show(i) for i in chunk]}
        if not chunk:
            return body
        after = listing.cursor(chunk[-1])
        more = start + limit < len(items)
        paging: dict[str, Any] = {}
        if not self.next_only:
            paging["cursors"] = {"before": listing.cursor(chunk[0]), "after": after}
        if more:
            query = {k: v for k, v in params.items() if k not in ("after", "__paging_token")}
            if self.next_only:
                query.update({"__paging_token": after, "access_token": self.token})
            else:
                query["after"] = after
            paging["next"] = f"https://graph.facebook.com/{VERSION}/{path}?{urlencode(query)}"
        body["paging"] = paging
        return body

    def _project(self, node: Node, fields: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {"id": node.id}
        for name, sub in _fields(fields or DEFAULT_FIELDS.get(node.kind, "id")):
            value = self._field(node, name, sub)
            if value is not None:
                out[name] = value
        return out

    def _field(self, node: Node, name: str, sub: str | None) -> Any:
        if name in ("created_time", "timestamp"):
            return graph_time(node.created)
        if name == "updated_time" and name in node.fields:
            return graph_time(node.fields[name])
        if name == "parent":
            if node.parent is None or node.kind != "comment":
                return None
            parent = self.nodes.get(node.parent)
            return {"id": node.parent, **({"created_time": graph_time(parent.created)} if parent else {})}
        if name == "replies" and node.kind == "ig_comment":
            replies = Listing([n for n in self.nodes.values() if n.parent == node.id], _created)
            path = f"{node.id}/replies"
            params = {"fields": sub or "id"}
            return self._page(replies, params, self.reply_page, path, lambda r: self._project(r, sub))
        if name == "customer":
            return None
        return node.fields.get(name)


EDGES = {
    "page": ("posts", "feed", "visitor_posts", "conversations"),
    "post": ("comments",),
    "comment": ("comments",),
    "conversation": ("messages",),
    "ig_user": ("media",),
    "media": ("comments",),
    "ig_comment": ("replies",),
}


def _fields(spec: str) -> list[tuple[str, str | None]]:
    """``a,b{c,d},e`` -> [(a, None), (b, "c,d"), (e, None)]."""
    out: list[tuple[str, str | None]] = []
    depth, start = 0, 0
    for n, char in enumerate(spec + ","):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "," and depth == 0:
            part = spec[start:n].strip()
            start = n + 1
            if part:
                name, _, sub = part.partition("{")
                out.append((name, sub[:-1] if sub else None))
    return out


def _created(node: Node) -> tuple[float, str]:
    return node.created.timestamp(), node.id


@dataclass
class Listing:
    """An edge's members and their order; cursors are positions in that order (a sort key), so a
    page read after items were added or deleted starts where the previous one ended."""

    items: list[Node]
    key: Callable[[Node], tuple[float, str]]
    descending: bool = False

    def ordered(self) -> list[Node]:
        return sorted(self.items, key=self.key, reverse=self.descending)

    def cursor(self, node: Node) -> str:
        return base64.urlsafe_b64encode(json.dumps(self.key(node)).encode()).decode()

    def beyond(self, node: Node, position: tuple[Any, ...]) -> bool:
        key = self.key(node)
        return key < position if self.descending else key > position
