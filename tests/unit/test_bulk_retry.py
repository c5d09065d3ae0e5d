"""BulkWriter against a scripted HTTP endpoint over a real connection: 429s, 5xx, per-item
throttling and an unreachable server are waited out; rejections come back; nothing is dropped.
(The real search server is exercised by the integration tests; this one scripts the failures
a healthy test server never produces.)"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import pytest
from aiohttp import web
from elasticsearch import AsyncElasticsearch, BadRequestError

from streams.devstack.embedded import free_port
from streams.search.sink import Action, BulkWriter

HEADERS = {"X-Elastic-Product": "Elasticsearch"}


class ScriptedBulk:
    """Answers ``/_bulk`` with the next scripted reply: an HTTP status for the whole
    request, or a map of document id to item status (201 for ids not named)."""

    def __init__(self, replies: list[int | dict[str, int]]) -> None:
        self.replies = replies
        self.sent: Counter[str] = Counter()
        self.runner: web.AppRunner | None = None

    async def start(self, port: int) -> None:
        app = web.Application()
        app.router.add_route("*", "/_bulk", self.bulk)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def bulk(self, request: web.Request) -> web.Response:
        lines = [json.loads(x) for x in (await request.text()).splitlines() if x.strip()]
        ids = [next(iter(header.values()))["_id"] for header in lines[::2]]
        self.sent.update(ids)
        reply = self.replies.pop(0) if self.replies else {}
        if isinstance(reply, int):
            error = {"error": {"type": "scripted", "reason": "scripted failure"}, "status": reply}
            return web.json_response(error, status=reply, headers=HEADERS)
        items: list[dict[str, Any]] = []
        for doc_id in ids:
            status = reply.get(doc_id, 201)
            item: dict[str, Any] = {"_id": doc_id, "status": status}
            if status >= 300:
                item["error"] = {"type": "mapper_parsing_exception", "reason": f"bad {doc_id}"}
            items.append({"index": item})
        return web.json_response({"errors": bool(reply), "items": items}, headers=HEADERS)


def actions(*ids: str) -> list[Action]:
    return [Action("index", "mentions", i, {"message": i}) for i in ids]


def client(port: int) -> AsyncElasticsearch:
    # no retries inside the client: the writer's own policy is under test
    return AsyncElasticsearch(f"http://127.0.0.1:{port}", max_retries=0, request_timeout=5)


def test_throttling_and_server_errors_are_retried_and_rejections_returned() -> None:
    async def scenario() -> None:
        port = free_port()
        server = ScriptedBulk([429, 503, {"b": 429, "c": 400}])
        await server.start(port)
        delays: list[float] = []
        retries: list[int] = []

        async def sleep(seconds: float) -> None:
            delays.append(seconds)

        es = client(port)
        try:
            writer = BulkWriter(es, sleep=sleep, on_retry=lambda: retries.append(1))
            outcome = await writer.write(actions("a", "b", "c"))
        finally:
            await es.close()
            await server.stop()
        assert [(r.action.id, r.status) for r in outcome.rejected] == [("c", 400)]
        assert "mapper_parsing_exception: bad c" in outcome.rejected[0].reason
        assert server.sent == {"a": 3, "b": 4, "c": 3}  # b re-sent alone after its 429
        assert outcome.retries == len(retries) == len(delays) == 3
        assert delays[0] < delays[1]  # exponential back-off (jitter is at most 20%)

    asyncio.run(scenario())


def test_unreachable_server_is_waited_for() -> None:
    async def scenario() -> None:
        port = free_port()
        server = ScriptedBulk([])
        attempts: list[float] = []

        async def sleep(seconds: float) -> None:
            attempts.append(seconds)
            if len(attempts) == 3:
                await server.start(port)  # the server comes back during the third pause

        es = client(port)
        try:
            outcome = await BulkWriter(es, sleep=sleep).write(actions("a", "b"))
        finally:
            await es.close()
            await server.stop()
        assert outcome.rejected == [] and outcome.retries == 3
        assert server.sent == {"a": 1, "b": 1}

    asyncio.run(scenario())


def test_a_bad_request_is_raised_not_retried() -> None:
    async def scenario() -> None:
        port = free_port()
        server = ScriptedBulk([400])
        await server.start(port)
        es = client(port)
        try:
            with pytest.raises(BadRequestError):
                await BulkWriter(es, sleep=lambda _: asyncio.sleep(0)).write(actions("a"))
        finally:
            await es.close()
            await server.stop()
        assert server.sent == {"a": 1}

    asyncio.run(scenario())


def test_item_back_off_starts_again_when_the_server_takes_some() -> None:
    """Throttled items back off more while nothing gets through, and from the start once the
    server takes part of what is left (it is keeping up)."""

    async def scenario() -> None:
        port = free_port()
        server = ScriptedBulk([{"a": 429, "b": 429}, {"a": 429, "b": 429}, {"a": 429}])
        await server.start(port)
        delays: list[float] = []

        async def sleep(seconds: float) -> None:
            delays.append(seconds)

        es = client(port)
        try:
            outcome = await BulkWriter(es, sleep=sleep).write(actions("a", "b"))
        finally:
            await es.close()
            await server.stop()
        assert outcome.rejected == [] and server.sent == {"a": 4, "b": 3}
        assert len(delays) == 3
        assert delays[0] < delays[1]  # nothing got through: the pause grows
        assert delays[2] < delays[1]  # b got through: back to the first pause

    asyncio.run(scenario())
