"""Polish stems (``message.pl``) only where every search node has the ``analysis-stempel`` plugin."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import NotFoundError

from streams.search.layout import Layout
from streams.search.queries import MentionFilter, mention_query
from streams.search.setup import POLISH_PLUGIN, ensure_layout, nodes_with_plugin, polish_stemming
from tests.factories import T0


def nodes_info(*plugins_per_node: list[str], failed: int = 0) -> dict[str, Any]:
    """A ``GET _nodes/plugins`` body: one node per list of plugin names, plus ``failed`` silent nodes."""
    nodes = {
        f"node{i}": {"name": f"es-{i}", "plugins": [{"name": p, "version": "9.1.0"} for p in names]}
        for i, names in enumerate(plugins_per_node)
    }
    total = len(nodes) + failed
    return {"_nodes": {"total": total, "successful": len(nodes), "failed": failed}, "nodes": nodes}


def not_found() -> NotFoundError:
    meta = ApiResponseMeta(404, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "localhost", 9200))
    return NotFoundError("no handler found for uri [/_nodes/plugins]", meta, {})


@dataclass
class Indices:
    """The index calls ``ensure_layout`` makes, on a cluster with no indices yet."""

    templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)

    def put_index_template(self, *, name: str, **body: Any) -> None:
        self.templates[name] = body

    def get_mapping(self, **_: Any) -> SimpleNamespace:
        return SimpleNamespace(body={})

    def exists(self, *, index: str) -> bool:
        return index in self.created

    def create(self, *, index: str) -> None:
        self.created.append(index)


@dataclass
class Nodes:
    answer: dict[str, Any] | Exception

    def info(self, *, metric: str) -> SimpleNamespace:
        assert metric == "plugins"
        if isinstance(self.answer, Exception):
            raise self.answer
        return SimpleNamespace(body=self.answer)


@dataclass
class Cluster:
    nodes: Nodes
    indices: Indices = field(default_factory=Indices)


def message_fields(template: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = template["template"]["mappings"]["properties"]["message"]["fields"]
    return fields


def test_layout_without_the_plugin_has_no_polish_field() -> None:
    templates = Layout("fw").templates()
    for name in ("fw-mentions", "fw-threads"):
        assert set(message_fields(templates[name])) == {"hu", "en"}


def test_layout_with_the_plugin_maps_message_pl_with_the_polish_analyzer() -> None:
    templates = Layout("fw").templates(polish=True)
    for name in ("fw-mentions", "fw-threads"):
        fields = message_fields(templates[name])
        assert fields["pl"] == {"type": "text", "analyzer": "polish"}
        assert fields["hu"]["analyzer"] == "hungarian" and fields["en"]["analyzer"] == "english"
        assert templates[name]["template"]["mappings"]["properties"]["message"]["analyzer"] == "folded"
    assert "fields" not in templates["fw-incidents"]["template"]["mappings"]["properties"]["message"]


def test_the_polish_layout_leaves_the_plain_one_alone() -> None:
    Layout("fw").templates(polish=True)
    assert "pl" not in message_fields(Layout("fw").templates()["fw-mentions"])


def test_plugin_counted_per_node() -> None:
    assert nodes_with_plugin(nodes_info([POLISH_PLUGIN], [POLISH_PLUGIN, "x"]), POLISH_PLUGIN) == (2, 2)
    assert nodes_with_plugin(nodes_info([POLISH_PLUGIN], []), POLISH_PLUGIN) == (1, 2)
    assert nodes_with_plugin(nodes_info([POLISH_PLUGIN], failed=1), POLISH_PLUGIN) == (1, 2)
    assert nodes_with_plugin({}, POLISH_PLUGIN) == (0, 0)


def test_plugin_on_every_node_turns_polish_on() -> None:
    lines: list[str] = []
    cluster = Cluster(Nodes(nodes_info([POLISH_PLUGIN], [POLISH_PLUGIN, "analysis-icu"])))
    assert polish_stemming(cluster, lines.append) is True  # type: ignore[arg-type]
    assert any("on all 2 search nodes" in line for line in lines)


def test_plugin_on_only_some_nodes_is_not_used_and_warns() -> None:
    lines: list[str] = []
    cluster = Cluster(Nodes(nodes_info([POLISH_PLUGIN], ["analysis-icu"], [POLISH_PLUGIN])))
    assert polish_stemming(cluster, lines.append) is False  # type: ignore[arg-type]
    assert [line for line in lines if line.startswith("warning:")] == [
        f"warning: {POLISH_PLUGIN} on only 2 of 3 search nodes; message.pl (Polish stems) off until "
        "every node has it"
    ]


def test_a_node_that_did_not_answer_keeps_polish_off() -> None:
    lines: list[str] = []
    cluster = Cluster(Nodes(nodes_info([POLISH_PLUGIN], failed=1)))
    assert polish_stemming(cluster, lines.append) is False  # type: ignore[arg-type]
    assert any(line.startswith("warning:") for line in lines)


def test_no_plugin_anywhere_is_off_without_a_warning() -> None:
    lines: list[str] = []
    assert polish_stemming(Cluster(Nodes(nodes_info([], ["analysis-icu"]))), lines.append) is False  # type: ignore[arg-type]
    assert lines and not any(line.startswith("warning:") for line in lines)


def test_a_server_without_the_nodes_api_counts_as_no_plugin() -> None:
    lines: list[str] = []
    assert polish_stemming(Cluster(Nodes(not_found())), lines.append) is False  # type: ignore[arg-type]
    assert lines == ["cannot list the search cluster's plugins (404); message.pl (Polish stems) off"]


def test_ensure_layout_puts_message_pl_only_where_every_node_has_the_plugin() -> None:
    everywhere = Cluster(Nodes(nodes_info([POLISH_PLUGIN], [POLISH_PLUGIN])))
    ensure_layout(everywhere, Layout("fw"), now=T0)  # type: ignore[arg-type]
    assert "pl" in message_fields(everywhere.indices.templates["fw-mentions"])
    assert "pl" in message_fields(everywhere.indices.templates["fw-threads"])
    assert "fw-mentions-2026.11" in everywhere.indices.created

    nowhere = Cluster(Nodes(not_found()))
    ensure_layout(nowhere, Layout("fw"), now=T0)  # type: ignore[arg-type]
    assert "pl" not in message_fields(nowhere.indices.templates["fw-mentions"])
    assert "pl" not in message_fields(nowhere.indices.templates["fw-threads"])


def test_queries_also_search_the_polish_stems() -> None:
    fields = mention_query(MentionFilter("zamówienia"))["bool"]["must"][0]["multi_match"]["fields"]
    assert fields == ["message^2", "message.hu", "message.en", "message.pl"]
