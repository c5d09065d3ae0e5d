"""A scripted HTTP proxy in front of a real search server that throttles bulk writes.

Everything passes through unchanged except ``_bulk`` requests, where the proxy
- answers a seeded random share of the items 429 or 503 without forwarding them (as a busy
  cluster does: a rejected item was not written), with ``errors: true`` in the response;
- answers every ``whole_every``-th request 503 without forwarding anything;
- forwards every ``lost_ack_every``-th request and then answers 503 anyway (the write happened,
  the acknowledgement was lost: the client must retry without counting anything twice).
Not a mock of the client: the worker talks HTTP to it as to Elasticsearch.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

HOP_HEADERS = {"connection", "content-length", "transfer-encoding", "keep-alive", "host"}
ITEM_ERRORS = {
    429: {"type": "es_rejected_execution_exception", "reason": "rejected execution (queue full)"},
    503: {"type": "unavailable_shards_exception", "reason": "primary shard is not active"},
}
WHOLE_503 = {"error": {"type": "cluster_block_exception", "reason": "service unavailable"}, "status": 503}


@dataclass(frozen=True, slots=True)
class Script:
    """What share of bulk traffic the proxy turns into failures."""

    seed: int
    item_share: float = 0.1
    """Items answered 429 or 503 (half each), not forwarded."""
    whole_every: int = 10
    """Bulk requests 2, 12, 22, ... are answered 503, not forwarded."""
    lost_ack_every: int = 15
    """Bulk requests 5, 20, 35, ... are forwarded, then answered 503."""


@dataclass
class ProxyStats:
    bulk_requests: int = 0
    items: int = 0
    items_429: int = 0
    items_503: int = 0
    whole_503: int = 0
    lost_acks: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def summary(self) -> str:
        return (
            f"{self.bulk_requests} bulk requests, {self.items} items: {self.items_429} items 429, "
            f"{self.items_503} items 503, {self.whole_503} requests 503, {self.lost_acks} acks lost"
        )


class FaultyProxy:
    """``start()`` serves on a free local port in a thread; ``url`` is what the worker uses."""

    def __init__(self, upstream: str, script: Script) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.script = script
        self.rng = random.Random(script.seed)
        self.stats = ProxyStats()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="faulty-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FaultyProxy:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def roll(self) -> float:
        with self.stats.lock:
            return self.rng.random()

    def forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(*self.upstream, timeout=60)
        try:
            connection.request(method, path, body=body or None, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_HEADERS]
            return response.status, kept, payload
        finally:
            connection.close()

    def bulk(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """One bulk request as the script says: forwarded in part, whole, or not at all."""
        items = _bulk_items(body)
        with self.stats.lock:
            self.stats.bulk_requests += 1
            self.stats.items += len(items)
            n = self.stats.bulk_requests
        unavailable = (503, [("X-Elastic-Product", "Elasticsearch")], json.dumps(WHOLE_503).encode())
        if n % self.script.whole_every == 2 % self.script.whole_every:
            with self.stats.lock:
                self.stats.whole_503 += 1
            return unavailable
        if n % self.script.lost_ack_every == 5 % self.script.lost_ack_every:
            self.forward(method, path, headers, body)
            with self.stats.lock:
                self.stats.lost_acks += 1
            return unavailable
        refused = {i: self._item_status() for i in range(len(items)) if self.roll() < self.script.item_share}
        kept = [item for i, item in enumerate(items) if i not in refused]
        upstream_items: list[dict[str, Any]] = []
        answer_headers = [("X-Elastic-Product", "Elasticsearch"), ("Content-Type", "application/json")]
        if kept:
            status, answer_headers, payload = self.forward(
                method, path, headers, b"".join(lines for _, lines in kept)
            )
            if status != 200:
                return status, answer_headers, payload
            upstream_items = json.loads(payload)["items"]
        merged: list[dict[str, Any]] = []
        answers = iter(upstream_items)
        for i, (op, _) in enumerate(items):
            if i in refused:
                code = refused[i]
                merged.append({op: {"status": code, "error": ITEM_ERRORS[code]}})
            else:
                merged.append(next(answers))
        errors = bool(refused) or any(next(iter(m.values())).get("status", 200) >= 300 for m in merged)
        return 200, answer_headers, json.dumps({"took": 1, "errors": errors, "items": merged}).encode()

    def _item_status(self) -> int:
        code = 429 if self.roll() < 0.5 else 503
        with self.stats.lock:
            if code == 429:
                self.stats.items_429 += 1
            else:
                self.stats.items_503 += 1
        return code


def _bulk_items(body: bytes) -> list[tuple[str, bytes]]:
    """(operation, its NDJSON lines) per item; ``delete`` has no source line."""
    lines = [line for line in body.split(b"\n") if line.strip()]
    items, i = [], 0
    while i < len(lines):
        op = next(iter(json.loads(lines[i])))
        take = 1 if op == "delete" else 2
        items.append((op, b"".join(line + b"\n" for line in lines[i : i + take])))
        i += take
    return items


def _handler(proxy: FaultyProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            if self.command in ("POST", "PUT") and urlsplit(self.path).path.endswith("/_bulk"):
                status, answer_headers, payload = proxy.bulk(self.command, self.path, headers, body)
            else:
                status, answer_headers, payload = proxy.forward(self.command, self.path, headers, body)
            self.send_response(status)
            for key, value in answer_headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the stats say what happened

    return Handler
