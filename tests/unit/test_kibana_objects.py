"""The exported Kibana saved objects, read back as a user (or Kibana) would: each line a saved
object, every reference resolving, every panel on an exported data view, and every field a panel
uses present in the index templates with a type its operation can use. The checker is tested too,
on objects broken on purpose."""

from __future__ import annotations

import copy
import fnmatch
import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from streams.cli.kibana import kibana
from streams.search.layout import Layout
from streams.search.links import Links

KNOWN_TYPES = {"index-pattern", "lens", "visualization", "search", "dashboard"}
NUMERIC = {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float"}
USABLE: dict[str, set[str] | None] = {
    "count": None,
    "terms": {"keyword", "boolean"},
    "significant_terms": {"keyword", "boolean"},
    "date_histogram": {"date"},
    "average": NUMERIC,
    "avg": NUMERIC,
    "median": NUMERIC,
    "percentile": NUMERIC,
    "sum": NUMERIC,
}
"""Operation -> the field types it can use (None: no field)."""
RECORDS = "___records___"
SEARCH_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"


# -- reading the export ----------------------------------------------------------------------


def export(prefix: str | None = None) -> str:
    env = {"FLAREWATCH_ELASTICSEARCH__INDEX_PREFIX": prefix} if prefix else {}
    result = CliRunner().invoke(kibana, ["export"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def parse(ndjson: str) -> list[dict[str, Any]]:
    assert ndjson.endswith("\n")
    return [json.loads(line) for line in ndjson.splitlines()]


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return parse(export())


# -- field types from the index templates ----------------------------------------------------


def walk(properties: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        if "properties" in spec:
            yield from walk(spec["properties"], f"{path}.")
            continue
        yield path, spec.get("type", "object")
        for sub, sub_spec in spec.get("fields", {}).items():
            yield f"{path}.{sub}", sub_spec["type"]


def template_fields(layout: Layout, title: str) -> dict[str, str] | None:
    """Field -> type of the template whose patterns or aliases cover ``title``; None: no template."""
    for template in layout.templates().values():
        names = template["template"].get("aliases", {})
        if title in names or any(fnmatch.fnmatch(title, p) for p in template["index_patterns"]):
            return dict(walk(template["template"]["mappings"]["properties"]))
    return None


# -- the checker -----------------------------------------------------------------------------


def problems(objects: list[dict[str, Any]], layout: Layout) -> list[str]:
    """Everything wrong with an export, one line per problem; empty when all is well."""
    found: list[str] = []
    exported = {(o.get("type"), o.get("id")) for o in objects}
    views = {o["id"]: o for o in objects if o.get("type") == "index-pattern"}
    for obj in objects:
        found += shape_problems(obj)
        for ref in obj.get("references", []):
            if (ref.get("type"), ref.get("id")) not in exported:
                found.append(f"{obj.get('id')}: reference {ref} does not resolve")
        found += content_problems(obj, views, layout)
    return found


def shape_problems(obj: dict[str, Any]) -> list[str]:
    found = []
    if not isinstance(obj.get("id"), str) or not obj["id"]:
        found.append(f"no id: {obj}")
    if obj.get("type") not in KNOWN_TYPES:
        found.append(f"{obj.get('id')}: unknown type {obj.get('type')!r}")
    if not isinstance(obj.get("attributes"), dict) or not obj["attributes"].get("title"):
        found.append(f"{obj.get('id')}: attributes without a title")
    refs = obj.get("references")
    if not isinstance(refs, list) or any(set(r) != {"name", "type", "id"} for r in refs):
        found.append(f"{obj.get('id')}: references are not a list of name/type/id")
    return found


def content_problems(obj: dict[str, Any], views: dict[str, Any], layout: Layout) -> list[str]:
    kind, attributes = obj.get("type"), obj.get("attributes", {})
    if kind == "index-pattern":
        fields = template_fields(layout, attributes.get("title", ""))
        if fields is None:
            return [f"{obj['id']}: no index template covers {attributes.get('title')!r}"]
        return field_problems(obj["id"], fields, [("date_histogram", attributes.get("timeFieldName"))])
    if kind == "lens":
        return lens_problems(obj, views, layout)
    if kind == "visualization":
        aggs = json.loads(attributes["visState"])["aggs"]
        uses = [(a["type"], a.get("params", {}).get("field")) for a in aggs]
        return search_source_problems(obj, views, layout, uses)
    if kind == "search":
        uses = [(None, c) for c in attributes["columns"]] + [(None, s[0]) for s in attributes["sort"]]
        return search_source_problems(obj, views, layout, uses)
    if kind == "dashboard":
        return dashboard_problems(obj)
    return []


def ref_named(obj: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((r for r in obj.get("references", []) if r.get("name") == name), None)


def view_fields(
    obj: dict[str, Any], ref_name: str, views: dict[str, Any], layout: Layout
) -> dict[str, str] | str:
    """The fields of the data view the reference names, or what is wrong."""
    ref = ref_named(obj, ref_name)
    if ref is None or ref["type"] != "index-pattern" or ref["id"] not in views:
        return f"{obj['id']}: {ref_name} names no exported data view"
    fields = template_fields(layout, views[ref["id"]]["attributes"]["title"])
    return fields if fields is not None else f"{obj['id']}: data view {ref['id']} has no template"


def field_problems(owner: str, fields: dict[str, str], uses: list[tuple[str | None, Any]]) -> list[str]:
    """``uses``: (operation, field); operation None: the field only has to exist."""
    found = []
    for operation, name in uses:
        if operation is not None and operation not in USABLE:
            found.append(f"{owner}: unknown operation {operation!r}")
            continue
        allowed = USABLE.get(operation) if operation else set()
        if allowed is None:
            if name not in (None, RECORDS):
                found.append(f"{owner}: {operation} takes no field, got {name!r}")
            continue
        if name not in fields:
            found.append(f"{owner}: field {name!r} is not in the index template")
        elif allowed and fields[name] not in allowed:
            found.append(f"{owner}: {operation} cannot use {name!r} of type {fields[name]}")
    return found


def lens_problems(obj: dict[str, Any], views: dict[str, Any], layout: Layout) -> list[str]:
    state = obj["attributes"]["state"]
    found = []
    for layer_id, layer in state["datasourceStates"]["formBased"]["layers"].items():
        fields = view_fields(obj, f"indexpattern-datasource-layer-{layer_id}", views, layout)
        if isinstance(fields, str):
            found.append(fields)
            continue
        columns = layer["columns"].values()
        found += field_problems(
            obj["id"], fields, [(c["operationType"], c.get("sourceField")) for c in columns]
        )
        if set(layer["columnOrder"]) != set(layer["columns"]):
            found.append(f"{obj['id']}: columnOrder does not match the columns")
    return found + accessor_problems(obj)


def accessor_problems(obj: dict[str, Any]) -> list[str]:
    state = obj["attributes"]["state"]
    columns = {
        c for layer in state["datasourceStates"]["formBased"]["layers"].values() for c in layer["columns"]
    }
    vis = state["visualization"]
    used = [c["columnId"] for c in vis.get("columns", [])]
    for layer in vis.get("layers", []):
        used += [*layer["accessors"], layer["xAccessor"]]
        used += [layer["splitAccessor"]] if "splitAccessor" in layer else []
    return [
        f"{obj['id']}: the chart uses column {c!r}, which the layer lacks" for c in used if c not in columns
    ]


def search_source_problems(
    obj: dict[str, Any], views: dict[str, Any], layout: Layout, uses: list[tuple[str | None, Any]]
) -> list[str]:
    source = json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    fields = view_fields(obj, source.get("indexRefName", ""), views, layout)
    return [fields] if isinstance(fields, str) else field_problems(obj["id"], fields, uses)


def dashboard_problems(obj: dict[str, Any]) -> list[str]:
    found = []
    for panel in json.loads(obj["attributes"]["panelsJSON"]):
        ref = ref_named(obj, panel.get("panelRefName", ""))
        if ref is None or ref["type"] != panel.get("type"):
            found.append(f"{obj['id']}: panel {panel.get('panelIndex')} has no {panel.get('type')} reference")
    return found


# -- the export ------------------------------------------------------------------------------


def test_the_export_has_no_problems(objects: list[dict[str, Any]]) -> None:
    assert problems(objects, Layout()) == []


def test_data_views_cover_every_index_and_keep_the_discover_links_id(objects: list[dict[str, Any]]) -> None:
    views = {o["attributes"]["title"]: o["id"] for o in objects if o["type"] == "index-pattern"}
    layout = Layout()
    assert set(views) == {layout.mentions, layout.threads, layout.incidents, layout.deliveries}
    assert views[layout.mentions] == Links().data_view


def test_the_dashboard_shows_every_panel_once(objects: list[dict[str, Any]]) -> None:
    (board,) = [o for o in objects if o["type"] == "dashboard"]
    panels = {(r["type"], r["id"]) for r in board["references"]}
    shown = {(o["type"], o["id"]) for o in objects if o["type"] in {"lens", "visualization", "search"}}
    assert panels == shown
    assert len(board["references"]) == len(json.loads(board["attributes"]["panelsJSON"]))


def test_the_crisis_room_has_its_panels(objects: list[dict[str, Any]]) -> None:
    text = json.dumps(objects)
    for needle in (
        '\\"type\\": \\"significant_terms\\"',
        "flarewatch.thread.sla.due_at",
        "flarewatch.thread.reply_mistakes",
        "flarewatch.thread.first_response_seconds",
        "flarewatch.incident.severity",
        "flarewatch.sentiment:negative",
    ):
        assert needle in text


def test_the_export_is_deterministic_and_ids_carry_the_prefix() -> None:
    assert export("acme") == export("acme")
    acme, default = parse(export("acme")), parse(export())
    assert all(o["id"].startswith("acme-") for o in acme)
    assert not {o["id"] for o in acme} & {o["id"] for o in default}
    assert problems(acme, Layout("acme")) == []
    assert problems(acme, Layout()) != []  # acme's data views match no default template


# -- the checker catches broken objects ------------------------------------------------------


def lens_column(objects: list[dict[str, Any]], operation: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    broken = copy.deepcopy(objects)
    for obj in broken:
        if obj["type"] == "lens":
            for layer in obj["attributes"]["state"]["datasourceStates"]["formBased"]["layers"].values():
                for column in layer["columns"].values():
                    if column["operationType"] == operation:
                        return broken, column
    raise AssertionError(f"no {operation} column")


def test_a_reference_to_a_missing_id_is_caught(objects: list[dict[str, Any]]) -> None:
    broken = copy.deepcopy(objects)
    board = next(o for o in broken if o["type"] == "dashboard")
    board["references"][0]["id"] = "nowhere"
    assert any("does not resolve" in p for p in problems(broken, Layout()))


def test_a_panel_without_its_reference_is_caught(objects: list[dict[str, Any]]) -> None:
    broken = copy.deepcopy(objects)
    board = next(o for o in broken if o["type"] == "dashboard")
    board["references"].pop()
    assert any("has no" in p for p in problems(broken, Layout()))


def test_a_panel_on_a_missing_data_view_is_caught(objects: list[dict[str, Any]]) -> None:
    broken = [o for o in copy.deepcopy(objects) if o["id"] != "flarewatch-threads"]
    found = problems(broken, Layout())
    assert any("names no exported data view" in p for p in found)
    assert any("does not resolve" in p for p in found)


def test_an_unknown_type_is_caught(objects: list[dict[str, Any]]) -> None:
    broken = copy.deepcopy(objects)
    broken[0]["type"] = "canvas-workpad"
    assert any("unknown type" in p for p in problems(broken, Layout()))


def test_a_field_in_no_template_is_caught(objects: list[dict[str, Any]]) -> None:
    broken, column = lens_column(objects, "terms")
    column["sourceField"] = "flarewatch.no_such_field"
    assert any("not in the index template" in p for p in problems(broken, Layout()))


def test_a_saved_search_column_in_no_template_is_caught(objects: list[dict[str, Any]]) -> None:
    broken = copy.deepcopy(objects)
    next(o for o in broken if o["type"] == "search")["attributes"]["columns"].append("flarewatch.thread.nope")
    assert any("flarewatch.thread.nope" in p for p in problems(broken, Layout()))


def test_a_significant_terms_field_of_the_wrong_type_is_caught(objects: list[dict[str, Any]]) -> None:
    broken = copy.deepcopy(objects)
    vis = next(o for o in broken if o["type"] == "visualization")
    state = json.loads(vis["attributes"]["visState"])
    state["aggs"][1]["params"]["field"] = "message"
    vis["attributes"]["visState"] = json.dumps(state)
    assert any("cannot use 'message' of type text" in p for p in problems(broken, Layout()))


THREAD_FIELDS = template_fields(Layout(), Layout().threads) or {}


@given(st.sampled_from(sorted(THREAD_FIELDS)), st.sampled_from(["terms", "median", "date_histogram", "sum"]))
def test_an_operation_on_a_field_passes_only_when_the_type_fits(
    objects: list[dict[str, Any]], field: str, operation: str
) -> None:
    broken, column = lens_column(objects, "median")  # a threads panel
    column["operationType"], column["sourceField"] = operation, field
    found = problems(broken, Layout())
    allowed = USABLE[operation]
    assert allowed is not None
    assert (found == []) == (THREAD_FIELDS[field] in allowed), (field, operation, found)


@given(st.text(min_size=1, max_size=40).filter(lambda s: s not in THREAD_FIELDS and s != RECORDS))
def test_any_unknown_field_is_caught(objects: list[dict[str, Any]], field: str) -> None:
    broken, column = lens_column(objects, "median")
    column["sourceField"] = field
    assert any("not in the index template" in p for p in problems(broken, Layout()))
