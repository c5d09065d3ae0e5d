"""``flarewatch init`` for Elasticsearch: templates and indices. Safe to run again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from elasticsearch import Elasticsearch

from streams.contracts.records import utc_now
from streams.search.layout import Layout


def ensure_layout(
    client: Elasticsearch,
    layout: Layout,
    log: Callable[[str], None] = lambda _: None,
    now: datetime | None = None,
) -> list[str]:
    """Put the index templates (overwriting older versions of ours) and create missing indices.

    Returns the indices it created. Existing indices keep their mappings: a changed mapping
    applies to the next monthly mention index.
    """
    for name, body in layout.templates().items():
        client.indices.put_index_template(name=name, **body)
    created = []
    for index in (layout.mention_index(now or utc_now()), *layout.single_indices):
        if not client.indices.exists(index=index):
            client.indices.create(index=index)
            created.append(index)
            log(f"created index {index}")
    return created
