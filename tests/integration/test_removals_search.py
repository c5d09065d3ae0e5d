"""Removed content on the real search server: a deleted or hidden mention keeps its document, with
the removal recorded on it, whichever of the two arrives first."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch

from streams.config.settings import Settings
from streams.contracts.records import MentionRemoval
from streams.search.client import async_client, layout, sync_client
from streams.search.indexer import Indexer
from streams.search.setup import ensure_layout
from streams.search.sink import BulkWriter
from tests.factories import T0, mention, scored

pytestmark = pytest.mark.integration


def removal(n: int, **fields: Any) -> MentionRemoval:
    values: dict[str, Any] = {
        "mention_id": f"facebook:c{n}",
        "brand": "zakupowo",
        "removed_at": T0 + timedelta(hours=1),
        "removed_by": "page",
    }
    return MentionRemoval.model_validate(values | fields)


def test_removals_are_recorded_on_mentions_that_stay_searchable(settings: Settings) -> None:
    names = layout(settings.elasticsearch)
    with sync_client(settings.elasticsearch) as client:
        ensure_layout(client, names, now=T0)

    async def scenario() -> tuple[dict[str, Any], list[str]]:
        search: AsyncElasticsearch = async_client(settings.elasticsearch)
        try:
            indexer = Indexer(search, names, BulkWriter(search))
            texts = {1: "skandal, usunęli mój komentarz", 2: "ukryty komentarz o zwrocie", 3: "zwykły"}
            first = [scored(mention(n, text=texts[n])) for n in (1, 3)]
            assert await indexer.mentions(first) == []
            assert await indexer.threads(first) == []
            await search.indices.refresh(index=names.mentions)
            rejected = await indexer.removals(
                [
                    removal(1),  # indexed, time unknown: looked up
                    removal(2, created_at=T0, removed_by=None, hidden=True),  # not indexed yet
                    removal(9),  # in no index, time unknown
                ]
            )
            assert [(r.action.id, r.status) for r in rejected] == [("facebook:c9", 404)]
            assert await indexer.mentions([scored(mention(2, text=texts[2]))]) == []  # arrives after
            assert await indexer.mentions(first) == []  # a replay keeps the removal
            await search.indices.refresh(index=names.mentions)
            found = await search.search(
                index=names.mentions, query={"exists": {"field": "flarewatch.removal.removed_at"}}, size=10
            )
            docs = {h["_id"]: h["_source"] for h in found.body["hits"]["hits"]}
            thread = await search.get(index=names.threads, id="zakupowo:facebook:post1")
            docs["thread"] = thread.body["_source"]
            words = await search.search(
                index=names.mentions, query={"match": {"message": "komentarz"}}, size=10
            )
            return docs, sorted(h["_id"] for h in words.body["hits"]["hits"])
        finally:
            await search.close()

    docs, searchable = asyncio.run(scenario())
    thread = docs.pop("thread")
    assert thread["flarewatch"]["thread"]["removed_mentions"] == 1  # c1 stays in its thread, marked
    assert thread["flarewatch"]["thread"]["mentions"] == 2
    marked = {t["id"]: t["removed"] for t in thread["flarewatch"]["internal"]["turns"]}
    assert marked == {"facebook:c1": True, "facebook:c3": False}
    assert sorted(docs) == ["facebook:c1", "facebook:c2"]
    assert docs["facebook:c1"]["flarewatch"]["removal"]["removed_by"] == "page"
    assert docs["facebook:c1"]["message"] == "skandal, usunęli mój komentarz"
    assert docs["facebook:c2"]["flarewatch"]["removal"] == {
        "removed_at": (T0 + timedelta(hours=1)).isoformat(),
        "removed_by": None,
        "hidden": True,
    }
    assert docs["facebook:c2"]["message"] == "ukryty komentarz o zwrocie"
    assert docs["facebook:c2"]["flarewatch"]["sentiment"] == "negative"
    assert searchable == ["facebook:c1", "facebook:c2"]
