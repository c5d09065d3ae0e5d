"""An in-memory search server with the part of ``AsyncElasticsearch`` the indexer and the bulk
writer use: ``bulk`` (index and create, with ``if_seq_no``/``if_primary_term``) and ``mget`` (with
``_seq_no`` and ``_primary_term``), answering as the real server does: 201/200 per item, 409 for a
version conflict or an existing document on create.

Faults on purpose:
- ``reject``: document id -> reason: every write of it answers 400 (a mapping error, say);
- ``fail``: document ids: a request naming one raises :class:`SearchFailure` (non-transient);
- ``throttle``: document id -> how many writes of it answer 429 before one succeeds;
- ``outages``: how many next requests raise ``elasticsearch.ConnectionError`` (transient).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import ConnectionError as SearchUnavailable

from streams.search.indexer import Indexer
from streams.search.layout import Layout
from streams.search.sink import Backoff, BulkWriter


class SearchFailure(RuntimeError):
    """What a request naming a ``fail`` id raises: not transient, so the writer does not retry."""


@dataclass(frozen=True, slots=True)
class Response:
    body: dict[str, Any]


@dataclass(slots=True)
class Stored:
    source: dict[str, Any]
    seq_no: int
    primary_term: int = 1


@dataclass
class FakeSearch:
    reject: dict[str, str] = field(default_factory=dict)
    fail: set[str] = field(default_factory=set)
    throttle: Counter[str] = field(default_factory=Counter)
    outages: int = 0
    indices: dict[str, dict[str, Stored]] = field(default_factory=dict)
    requests: list[tuple[str, list[str]]] = field(default_factory=list)
    """Every request: (``bulk`` or ``mget``, the document ids it named)."""
    seq_no: int = 0

    async def bulk(self, *, operations: list[dict[str, Any]], **_: Any) -> Response:
        headers = [(op, meta) for h in operations[::2] for op, meta in h.items()]
        self._request("bulk", [meta["_id"] for _, meta in headers])
        items = [
            {op: self._write(op, meta, source)}
            for (op, meta), source in zip(headers, operations[1::2], strict=True)
        ]
        return Response(
            {"errors": any(next(iter(i.values()))["status"] >= 300 for i in items), "items": items}
        )

    async def mget(
        self,
        *,
        index: str | None = None,
        ids: list[str] | None = None,
        docs: list[dict[str, Any]] | None = None,
        **_: Any,
    ) -> Response:
        """``index`` and ``ids``, or ``docs`` naming each document's index (as the real API)."""
        wanted = (
            [(d["_index"], d["_id"]) for d in docs] if docs is not None else [(index, i) for i in ids or []]
        )
        self._request("mget", [i for _, i in wanted])
        found = [self._doc(str(ix), i, self.indices.get(str(ix), {}).get(i)) for ix, i in wanted]
        return Response({"docs": found})

    async def search(self, *, index: str, query: dict[str, Any], **_: Any) -> Response:
        """Only ``ids`` queries, over the indices whose names start with ``index`` (an alias)."""
        wanted = query["ids"]["values"]
        self._request("search", wanted)
        hits = [
            {"_index": name, "_id": doc_id}
            for name, docs in sorted(self.indices.items())
            if name.startswith(index)
            for doc_id in wanted
            if doc_id in docs
        ]
        return Response({"hits": {"hits": hits}})

    async def close(self) -> None:
        pass

    def source(self, index: str, doc_id: str) -> dict[str, Any] | None:
        stored = self.indices.get(index, {}).get(doc_id)
        return None if stored is None else stored.source

    def ids(self, index_prefix: str = "") -> set[str]:
        """Ids of the documents in every index whose name starts with ``index_prefix``."""
        return {i for name, docs in self.indices.items() if name.startswith(index_prefix) for i in docs}

    def _request(self, kind: str, ids: list[str]) -> None:
        self.requests.append((kind, ids))
        if self.outages > 0:
            self.outages -= 1
            raise SearchUnavailable("fake search server unavailable")
        named = sorted(self.fail.intersection(ids))
        if named:
            raise SearchFailure(f"request failed for {named}")

    def _write(self, op: str, meta: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
        index, doc_id = meta["_index"], meta["_id"]
        item: dict[str, Any] = {"_index": index, "_id": doc_id}
        if doc_id in self.reject:
            return item | {
                "status": 400,
                "error": {"type": "mapper_parsing_exception", "reason": self.reject[doc_id]},
            }
        if self.throttle[doc_id] > 0:
            self.throttle[doc_id] -= 1
            return item | {
                "status": 429,
                "error": {"type": "es_rejected_execution_exception", "reason": "busy"},
            }
        docs = self.indices.setdefault(index, {})
        current = docs.get(doc_id)
        if self._conflict(op, meta, current):
            return item | {
                "status": 409,
                "error": {"type": "version_conflict_engine_exception", "reason": doc_id},
            }
        if op == "update":
            if current is not None:
                source = _merged(current.source, source["doc"])
            elif source.get("doc_as_upsert"):
                source = source["doc"]
            elif "upsert" in source:
                source = source["upsert"]
            else:
                return item | {
                    "status": 404,
                    "error": {"type": "document_missing_exception", "reason": doc_id},
                }
        self.seq_no += 1
        docs[doc_id] = Stored(source, self.seq_no)
        return item | {"status": 201 if current is None else 200, "_seq_no": self.seq_no}

    @staticmethod
    def _conflict(op: str, meta: dict[str, Any], current: Stored | None) -> bool:
        if op == "create":
            return current is not None
        if "if_seq_no" not in meta:
            return False
        return current is None or (current.seq_no, current.primary_term) != (
            meta["if_seq_no"],
            meta["if_primary_term"],
        )

    @staticmethod
    def _doc(index: str, doc_id: str, stored: Stored | None) -> dict[str, Any]:
        if stored is None:
            return {"_index": index, "_id": doc_id, "found": False}
        return {
            "_index": index,
            "_id": doc_id,
            "found": True,
            "_source": stored.source,
            "_seq_no": stored.seq_no,
            "_primary_term": stored.primary_term,
        }


def _merged(stored: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """An update's ``doc`` merged into the stored source, objects recursively, as Elasticsearch does."""
    merged = dict(stored)
    for key, value in doc.items():
        old = merged.get(key)
        merged[key] = _merged(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
    return merged


async def _no_wait(seconds: float) -> None:
    pass


def indexer(search: FakeSearch, layout: Layout | None = None) -> Indexer:
    """The worker's real :class:`Indexer` and :class:`BulkWriter` over ``search``, backing off
    without waiting (``search.requests`` shows the retries)."""
    writer = BulkWriter(search, Backoff(0, 0), sleep=_no_wait)  # type: ignore[arg-type]
    return Indexer(search, layout or Layout(), writer)  # type: ignore[arg-type]
