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

    Returns the indices it created. Existing indices get the fields that were added since they
    were created (adding a field is always compatible; the mappings are strict, so without it a
    document with the new field would be rejected).
    """
    for name, body in layout.templates().items():
        client.indices.put_index_template(name=name, **body)
        existing = client.indices.get_mapping(
            index=",".join(body["index_patterns"]), allow_no_indices=True, ignore_unavailable=True
        )
        for index in sorted(existing.body):
            client.indices.put_mapping(index=index, properties=body["template"]["mappings"]["properties"])
    created = []
    for index in (layout.mention_index(now or utc_now()), *layout.single_indices):
        if not client.indices.exists(index=index):
            client.indices.create(index=index)
            created.append(index)
            log(f"created index {index}")
    return created
