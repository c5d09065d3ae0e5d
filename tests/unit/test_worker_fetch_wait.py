"""``kafka.fetch_max_wait_ms`` reaches the aiokafka consumer the worker's Faust app makes, and
its fetcher. Builds the consumer without starting it (no broker needed): what this checks is the
hook into Faust's and aiokafka's internals, which a Faust or aiokafka upgrade could break."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from streams.config.settings import load_settings
from streams.worker.app import Pipeline


def aiokafka_consumer(fetch_max_wait_ms: int | None) -> Any:
    kafka: dict[str, Any] = {"group_id": "fetch-wait-test"}
    if fetch_max_wait_ms is not None:
        kafka["fetch_max_wait_ms"] = fetch_max_wait_ms
    settings = load_settings(None, kafka=kafka)
    pipeline = Pipeline(settings, scorer_factory=lambda: None)  # type: ignore[arg-type,return-value]

    async def made() -> Any:
        consumer = pipeline.app.consumer
        return consumer._thread._create_worker_consumer(pipeline.app.transport)

    return asyncio.run(made())


@pytest.mark.parametrize(("configured", "expected"), [(None, 100), (250, 250)])
def test_the_worker_consumer_waits_at_most_the_configured_fetch_wait(
    configured: int | None, expected: int
) -> None:
    consumer = aiokafka_consumer(configured)
    assert consumer._fetch_max_wait_ms == expected


def test_the_fetcher_made_at_start_takes_the_consumer_value() -> None:
    """aiokafka passes the consumer's ``_fetch_max_wait_ms`` to the fetcher it makes in
    ``start``: read from its source, since starting needs a broker."""
    import inspect

    from aiokafka import AIOKafkaConsumer

    assert "fetch_max_wait_ms=self._fetch_max_wait_ms" in inspect.getsource(AIOKafkaConsumer.start)


def test_fetch_wait_is_bounded() -> None:
    from streams.config.settings import SettingsError

    with pytest.raises(SettingsError, match=r"kafka\.fetch_max_wait_ms"):
        load_settings(None, kafka={"fetch_max_wait_ms": 0})
