"""``flarewatch init`` for Elasticsearch: templates and indices. Safe to run again."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from elasticsearch import ApiError, Elasticsearch

from streams.contracts.records import utc_now
from streams.search.layout import Layout

POLISH_PLUGIN = "analysis-stempel"
"""The Elasticsearch plugin that provides the ``polish`` analyzer (``message.pl``)."""


def ensure_layout(
    client: Elasticsearch,
    layout: Layout,
    log: Callable[[str], None] = lambda _: None,
    now: datetime | None = None,
) -> list[str]:
    """Put the index templates (overwriting older versions of ours) and create missing indices.

    Returns the indices it created. Existing indices get the fields that were added since they
    were created (adding a field is always compatible; the mappings are strict, so without it a
    document with the new field would be rejected), and mentions and threads the configured
    ``refresh_interval``.

    ``message.pl`` (Polish stems) is mapped only when every node has the ``analysis-stempel``
    plugin, checked on each run: a cluster that gained the plugin gets it at the next ``init`` (or
    worker start). New indices have it from the start; an existing index gets the field too, but
    only documents written after that are indexed into it, so older mentions are found by their
    Polish stems only after a reindex (or ``_update_by_query``) of their month, and until then
    still by the folded, Hungarian and English fields.
    """
    polish = polish_stemming(client, log)
    for name, body in layout.templates(polish=polish).items():
        client.indices.put_index_template(name=name, **body)
        existing = client.indices.get_mapping(
            index=",".join(body["index_patterns"]), allow_no_indices=True, ignore_unavailable=True
        )
        live = {k: v for k, v in body["template"]["settings"].items() if k in layout.live_settings}
        for index in sorted(existing.body):
            client.indices.put_mapping(index=index, properties=body["template"]["mappings"]["properties"])
            if live:
                client.indices.put_settings(index=index, settings={"index": live})
    created = []
    for index in (layout.mention_index(now or utc_now()), *layout.single_indices):
        if not client.indices.exists(index=index):
            client.indices.create(index=index)
            created.append(index)
            log(f"created index {index}")
    return created


def polish_stemming(client: Elasticsearch, log: Callable[[str], None]) -> bool:
    """Whether every node has the ``analysis-stempel`` plugin (``GET _nodes/plugins``; needs the
    ``monitor`` cluster privilege). Every node, because any node may hold a shard and a mapping
    naming the ``polish`` analyzer fails where it is missing. A server that does not answer the
    API counts as having no plugin. Connection errors are raised."""
    try:
        info = client.nodes.info(metric="plugins").body
    except ApiError as exc:
        log(f"cannot list the search cluster's plugins ({exc.meta.status}); message.pl (Polish stems) off")
        return False
    having, nodes = nodes_with_plugin(info, POLISH_PLUGIN)
    if nodes and having == nodes:
        log(f"{POLISH_PLUGIN} on all {nodes} search nodes: message.pl (Polish stems) on")
        return True
    if having:
        log(
            f"warning: {POLISH_PLUGIN} on only {having} of {nodes} search nodes; message.pl (Polish stems) "
            "off until every node has it"
        )
    else:
        log(f"no {POLISH_PLUGIN} plugin on the search cluster: message.pl (Polish stems) off")
    return False


def nodes_with_plugin(info: Mapping[str, Any], plugin: str) -> tuple[int, int]:
    """``(nodes that have plugin, all nodes)`` from a ``GET _nodes/plugins`` body. Nodes that did
    not answer count among all nodes (``_nodes.total``) but not among those with the plugin."""
    nodes = info.get("nodes") or {}
    total = (info.get("_nodes") or {}).get("total", len(nodes))
    having = sum(1 for node in nodes.values() if plugin in {p.get("name") for p in node.get("plugins") or []})
    return having, max(total, len(nodes))
