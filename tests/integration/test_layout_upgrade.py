"""An index made by an older release gets the fields added since, on the real search server: its
mapping is strict, so without them every new document would be rejected."""

from __future__ import annotations

import copy

import pytest

from streams.config.settings import Settings
from streams.search.client import layout, sync_client
from streams.search.documents import mention_document
from streams.search.layout import ANALYSIS, MENTION_PROPERTIES
from streams.search.setup import ensure_layout
from tests.factories import T0, mention, scored

pytestmark = pytest.mark.integration


def test_init_adds_new_fields_to_an_existing_mention_index(settings: Settings) -> None:
    names = layout(settings.elasticsearch)
    index = names.mention_index(T0)
    old = copy.deepcopy(MENTION_PROPERTIES)
    del old["flarewatch"]["properties"]["uncertain"]
    with sync_client(settings.elasticsearch) as client:
        client.indices.create(
            index=index,
            settings={"analysis": ANALYSIS},
            mappings={"dynamic": "strict", "properties": old},
        )
        body = mention_document(scored(mention(1, text="paczka nie dotarła")))
        with pytest.raises(Exception, match=r"(?i)strict|mapping|uncertain"):
            client.index(index=index, id="before", document=body, refresh=True)
        ensure_layout(client, names, now=T0)
        client.index(index=index, id="after", document=body, refresh=True)
        mapping = client.indices.get_mapping(index=index)[index]["mappings"]
        assert mapping["properties"]["flarewatch"]["properties"]["uncertain"]["type"] == "boolean"
        assert client.count(index=index)["count"] == 1


def test_init_applies_the_refresh_interval_to_existing_and_new_indices(settings: Settings) -> None:
    """A changed ``elasticsearch.refresh_interval`` reaches the mention and thread indices that
    exist (a dynamic setting) and the ones made later (the templates); the incidents index keeps
    the server's default."""
    import dataclasses
    from datetime import timedelta

    names = layout(settings.elasticsearch)
    with sync_client(settings.elasticsearch) as client:
        ensure_layout(client, names, now=T0)
        first = names.mention_index(T0)

        def interval(index: str) -> str | None:
            found = client.indices.get_settings(index=index)[index]["settings"]["index"]
            return found.get("refresh_interval")

        assert interval(first) == names.refresh_interval == "500ms"
        slower = dataclasses.replace(names, refresh_interval="2s")
        next_month = T0 + timedelta(days=40)
        ensure_layout(client, slower, now=next_month)
        assert interval(first) == "2s" and interval(slower.threads) == "2s"
        assert interval(slower.mention_index(next_month)) == "2s"
        assert interval(slower.incidents) is None
