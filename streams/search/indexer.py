"""What the worker writes: mentions, the threads they belong to, and incidents."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from elasticsearch import AsyncElasticsearch

from models.threads.calendar import BusinessCalendar
from models.threads.policy import SlaPolicy
from models.threads.sla import DEFAULT_TARGETS
from streams.contracts.incidents import Incident
from streams.contracts.records import MentionRemoval, ScoredMention, Thread, utc_now
from streams.search.documents import (
    incident_document,
    mention_document,
    removal_document,
    removal_placeholder,
    thread_document,
    thread_from_document,
)
from streams.search.layout import Layout
from streams.search.sink import Action, BulkWriter, Rejected
from streams.search.threads import mark_removed, merge, service

log = logging.getLogger("flarewatch.search")
MAX_CONFLICT_ROUNDS = 20


class Indexer:
    """Idempotent writers; each method returns only when the server acknowledged everything it
    did not reject for good (those come back as :class:`Rejected`)."""

    def __init__(
        self,
        client: AsyncElasticsearch,
        layout: Layout,
        writer: BulkWriter,
        policy: SlaPolicy | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.client = client
        self.layout = layout
        self.writer = writer
        self.policy = policy or SlaPolicy(BusinessCalendar.always(), DEFAULT_TARGETS)
        """Business hours and response targets: the SLA clock each thread document shows."""
        self.clock = clock

    async def mentions(self, batch: Sequence[ScoredMention]) -> list[Rejected]:
        """Write each mention's document, merged into what is there: a removal recorded before the
        mention was indexed (see :meth:`removals`) is kept. Writing the same mention again leaves
        the same document."""
        actions = [
            Action(
                "update",
                self.layout.mention_index(s.mention.created_at),
                s.mention.mention_id,
                {"doc": mention_document(s), "doc_as_upsert": True},
            )
            for s in batch
        ]
        return (await self.writer.write(actions)).rejected

    async def removals(self, batch: Sequence[MentionRemoval]) -> list[Rejected]:
        """Record each removal on its mention's document, which stays searchable. With the
        mention's time known, a mention not indexed yet gets a document holding the removal, which
        its indexing completes later; without it, the mention is looked up across the monthly
        indices, and one in none is rejected (404)."""
        located = {r.mention_id: self.layout.mention_index(r.created_at) for r in batch if r.created_at}
        unknown = sorted({r.mention_id for r in batch if r.created_at is None})
        if unknown:
            found = await self.writer.retrying(
                lambda: self.client.search(
                    index=self.layout.mentions,
                    query={"ids": {"values": unknown}},
                    size=len(unknown),
                    source=False,
                    ignore_unavailable=True,
                    allow_no_indices=True,
                ),
                f"finding {len(unknown)} removed mentions",
            )
            located.update({hit["_id"]: hit["_index"] for hit in found.body["hits"]["hits"]})
        actions, missing = [], []
        for removal in batch:
            index = located.get(removal.mention_id)
            if index is None:
                action = Action("update", self.layout.mentions, removal.mention_id, {})
                missing.append(Rejected(action, 404, "the removed mention is in no mention index"))
                continue
            doc = removal_document(removal)
            body: dict[str, Any] = {"doc": doc}
            if removal.created_at is not None:
                body["upsert"] = removal_placeholder(removal)
            actions.append(Action("update", index, removal.mention_id, body))
        rejected = missing + (await self.writer.write(actions)).rejected
        failed = {r.action.id for r in rejected}
        written = {m: index for m, index in located.items() if m not in failed}
        return rejected + await self._mark_removed(written)

    async def _mark_removed(self, located: dict[str, str]) -> list[Rejected]:
        """Mark removed mentions in their threads (which keep them). A mention whose thread does
        not count it yet (removed before it was indexed) is not marked."""
        if not located:
            return []
        found = await self.writer.retrying(
            lambda: self.client.mget(
                docs=[
                    {"_index": i, "_id": m, "_source": ["flarewatch.thread.key"]} for m, i in located.items()
                ]
            ),
            f"reading the threads of {len(located)} removed mentions",
        )
        gone: dict[str, set[str]] = defaultdict(set)
        for doc in found.body["docs"]:
            key = doc.get("_source", {}).get("flarewatch", {}).get("thread", {}).get("key")
            if doc.get("found") and isinstance(key, str):
                gone[key].add(doc["_id"])
        return await self._rewrite_threads(gone, lambda thread, ids: mark_removed(thread, ids))

    async def _rewrite_threads(
        self, changes: dict[str, set[str]], change: Callable[[Thread, set[str]], Thread]
    ) -> list[Rejected]:
        """Apply ``change`` to existing thread documents, retrying those changed meanwhile."""
        rejected: list[Rejected] = []
        for _ in range(MAX_CONFLICT_ROUNDS):
            if not changes:
                return rejected
            actions = []
            for doc in await self._read_threads(list(changes)):
                thread = thread_from_document(doc["_source"])
                changed = change(thread, changes[doc["_id"]])
                if changed == thread:
                    continue
                source = thread_document(
                    changed, doc["_source"].get("message"), service(changed, self.policy, self.clock())
                )
                version = doc["_seq_no"], doc["_primary_term"]
                actions.append(Action("index", self.layout.threads, doc["_id"], source, *version))
            outcome = await self.writer.write(actions)
            rejected += outcome.rejected
            redo = {a.id for a in outcome.conflicts}
            changes = {k: v for k, v in changes.items() if k in redo}
        raise RuntimeError(f"threads {sorted(changes)} kept changing under us; giving up this batch")

    async def _read_threads(self, keys: list[str]) -> list[dict[str, Any]]:
        """The thread documents that exist among ``keys`` (with their sequence numbers)."""
        found = await self.writer.retrying(
            lambda: self.client.mget(index=self.layout.threads, ids=keys), f"reading {len(keys)} threads"
        )
        return [d for d in found.body["docs"] if d.get("found")]

    async def threads(self, batch: Sequence[ScoredMention]) -> list[Rejected]:
        groups: dict[str, list[ScoredMention]] = defaultdict(list)
        for scored in batch:
            groups[scored.mention.thread_key].append(scored)
        rejected: list[Rejected] = []
        for _ in range(MAX_CONFLICT_ROUNDS):
            if not groups:
                return rejected
            outcome = await self.writer.write(await self._thread_actions(groups))
            rejected += outcome.rejected
            redo = {a.id for a in outcome.conflicts}
            groups = {k: v for k, v in groups.items() if k in redo}
        raise RuntimeError(f"threads {sorted(groups)} kept changing under us; giving up this batch")

    async def _thread_actions(self, groups: dict[str, list[ScoredMention]]) -> list[Action]:
        found = await self.writer.retrying(
            lambda: self.client.mget(index=self.layout.threads, ids=list(groups)),
            f"reading {len(groups)} threads",
        )
        existing = {d["_id"]: d for d in found.body["docs"] if d.get("found")}
        actions = []
        for key, mentions in groups.items():
            doc = existing.get(key)
            previous = thread_from_document(doc["_source"]) if doc else None
            thread = merge(previous, mentions)
            if previous is not None and thread == previous:
                continue  # every mention was already counted
            opening = _opening_text(doc, mentions, thread.root_id)
            source = thread_document(thread, opening, service(thread, self.policy, self.clock()))
            if doc:
                actions.append(
                    Action(
                        "index",
                        self.layout.threads,
                        key,
                        source,
                        doc["_seq_no"],
                        doc["_primary_term"],
                    )
                )
            else:
                actions.append(Action("create", self.layout.threads, key, source))
        return actions

    async def incidents(self, batch: Sequence[Incident]) -> list[Rejected]:
        """Index each incident's latest version in ``batch`` (``_id``: incident id). A version older
        than the one stored is skipped, not an error (a replay)."""
        latest: dict[str, Incident] = {}
        for incident in batch:
            kept = latest.get(incident.incident_id)
            if kept is None or incident.version >= kept.version:
                latest[incident.incident_id] = incident
        actions = [
            Action("index", self.layout.incidents, i.incident_id, incident_document(i), version=i.version)
            for i in latest.values()
        ]
        outcome = await self.writer.write(actions)
        for action in outcome.conflicts:
            log.info("incident %s: a newer version is already indexed", action.id)
        return outcome.rejected


def _opening_text(doc: dict[str, Any] | None, mentions: Sequence[ScoredMention], root_id: str) -> str | None:
    for scored in mentions:
        if scored.mention.native_id == root_id:
            return scored.mention.text
    if doc is not None:
        text = doc["_source"].get("message")
        return text if isinstance(text, str) else None
    return None
