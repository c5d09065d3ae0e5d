"""Where delivery records live: one document per incident version and notifier, ``_id`` =
``Delivery.delivery_id`` (``event_id:notifier``), so writing it twice keeps one record."""

from __future__ import annotations

from typing import Any, Protocol

from elasticsearch import AsyncElasticsearch

from streams.contracts.incidents import Delivery

DELIVERY_PROPERTIES: dict[str, Any] = {
    "schema_version": {"type": "integer"},
    "delivery_id": {"type": "keyword"},
    "event_id": {"type": "keyword"},
    "incident_id": {"type": "keyword"},
    "version": {"type": "integer"},
    "type": {"type": "keyword"},
    "notifier": {"type": "keyword"},
    "notifier_type": {"type": "keyword"},
    "status": {"type": "keyword"},
    "attempts": {"type": "integer"},
    "last_error": {"type": "text"},
    "response_status": {"type": "integer"},
    "first_attempt_at": {"type": "date"},
    "finished_at": {"type": "date"},
}
"""The deliveries index's mapping ``properties`` (for the index template)."""


class DeliveryStore(Protocol):
    """Durable delivery records. Both calls may raise the backend's errors (the caller retries)."""

    async def get(self, delivery_id: str) -> Delivery | None:
        """The record, or None when there is none."""
        ...

    async def put(self, delivery: Delivery) -> None:
        """Write (or overwrite) the record; when this returns, a later ``get`` sees it."""
        ...


class MemoryDeliveryStore:
    """For tests and ``--once`` runs without a search server."""

    def __init__(self) -> None:
        self.records: dict[str, Delivery] = {}

    async def get(self, delivery_id: str) -> Delivery | None:
        return self.records.get(delivery_id)

    async def put(self, delivery: Delivery) -> None:
        self.records[delivery.delivery_id] = delivery


class SearchDeliveryStore:
    """Records in an Elasticsearch index (the official async client). ``put`` waits for a refresh,
    so the record is visible to any worker's ``get`` and to searches once it returns."""

    def __init__(self, client: AsyncElasticsearch, index: str) -> None:
        self.client = client
        self.index = index

    async def get(self, delivery_id: str) -> Delivery | None:
        response = await self.client.options(ignore_status=404).get(index=self.index, id=delivery_id)
        if not response.body.get("found"):
            return None
        return Delivery.model_validate(response.body["_source"])

    async def put(self, delivery: Delivery) -> None:
        await self.client.index(
            index=self.index,
            id=delivery.delivery_id,
            document=delivery.model_dump(mode="json"),
            refresh="wait_for",
        )


async def list_deliveries(
    client: AsyncElasticsearch, index: str, incident_id: str | None = None, size: int = 1000
) -> list[Delivery]:
    """Delivery records, oldest first (at most ``size``); [] when the index does not exist yet."""
    query: dict[str, Any] = {"term": {"incident_id": incident_id}} if incident_id else {"match_all": {}}
    response = await client.options(ignore_status=404).search(
        index=index, query=query, size=size, sort=[{"finished_at": "asc"}, {"delivery_id": "asc"}]
    )
    hits = response.body.get("hits", {}).get("hits", [])
    return [Delivery.model_validate(hit["_source"]) for hit in hits]
