"""Incidents on the real search server: templates, versioned writes, reading back, the enricher
over indexed mentions, and ``flarewatch incidents`` list and show."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from click.testing import CliRunner
from elasticsearch import AsyncElasticsearch

from streams.cli.context import AppContext
from streams.cli.incidents import incidents as incidents_command
from streams.config.settings import Settings
from streams.contracts.incidents import Incident
from streams.search.client import async_client, layout, sync_client
from streams.search.incidents import Enricher, get_incident, list_incidents
from streams.search.indexer import Indexer
from streams.search.setup import ensure_layout
from streams.search.sink import BulkWriter
from tests.factories import T0, mention, scored
from tests.unit.test_search_incidents import VIEW, incident

pytestmark = pytest.mark.integration


def test_incidents_are_written_by_version_enriched_and_listed(settings: Settings) -> None:
    names = layout(settings.elasticsearch)
    with sync_client(settings.elasticsearch) as client:
        ensure_layout(client, names, now=T0)
        assert client.indices.exists(index=names.incidents) and client.indices.exists(index=names.deliveries)

    async def scenario() -> tuple[list[Incident], Incident | None, tuple[str, ...]]:
        search: AsyncElasticsearch = async_client(settings.elasticsearch)
        try:
            indexer = Indexer(search, names, BulkWriter(search))
            blik = [
                scored(mention(i, minutes=i % 10, text=f"BLIK nie działa, płatność odrzucona ({i})"))
                for i in range(8)
            ]
            calm = [
                scored(
                    mention(100 + i, minutes=-60 * 24 - i, text="paczka przyszła, dzięki"),
                    "positive",
                    False,
                    None,
                )
                for i in range(20)
            ]
            assert await indexer.mentions(blik + calm) == []
            await search.indices.refresh(index=names.mentions)
            newer, older = incident(version=3), incident()
            assert await indexer.incidents([newer]) == []
            assert await indexer.incidents([older]) == []  # an older version never overwrites a newer one
            await search.indices.refresh(index=names.incidents)
            described = await Enricher(search, names).enrich(VIEW)
            listed = await list_incidents(search, names, "zakupowo", open_only=True)
            return listed, await get_incident(search, names, VIEW.incident_id), described.top_terms
        finally:
            await search.close()

    listed, got, terms = asyncio.run(scenario())
    assert [i.version for i in listed] == [3] and got is not None and got.version == 3
    assert "blik" in terms
    app = AppContext()
    app._settings = settings
    runner = CliRunner()
    table = runner.invoke(incidents_command, ["--brand", "zakupowo"], obj=app, catch_exceptions=False)
    assert table.exit_code == 0 and VIEW.incident_id in table.output
    shown = runner.invoke(incidents_command, ["show", VIEW.incident_id], obj=app, catch_exceptions=False)
    assert shown.exit_code == 0 and "version 3" in shown.output
    assert T0 + timedelta(minutes=10) == got.updated_at
