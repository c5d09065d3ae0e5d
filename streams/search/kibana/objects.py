"""Kibana saved objects for Flarewatch: a data view per index, one visualisation or saved search
per crisis-room panel, and the dashboard. Built from typed specs, serialised at the edge as the
NDJSON that Kibana's saved objects import API takes.

Targets Kibana 8.11 or newer (Lens ``formBased`` layers, by-reference dashboard panels);
``typeMigrationVersion`` lets a newer Kibana migrate the objects on import. Every id starts with
the index prefix, so installations with different prefixes do not collide; the mentions data view
keeps the id ``<prefix>-mentions`` that the incidents' Discover links use.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from streams.search.kibana.panels import CRISIS_ROOM, Chart, Column, Listing, Panel, SignificantTerms, View
from streams.search.layout import Layout

CORE_MIGRATION_VERSION = "8.8.0"
TYPE_MIGRATION_VERSIONS = {
    "index-pattern": "7.11.0",
    "search": "7.9.3",
    "visualization": "8.0.0",
    "lens": "8.6.0",
    "dashboard": "8.7.0",
}
TIME_FIELDS: Mapping[View, str] = {
    "mentions": "@timestamp",
    "threads": "@timestamp",
    "incidents": "@timestamp",
    "deliveries": "first_attempt_at",
}
SEARCH_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"
RECORDS = "___records___"
"""Lens's source field for ``count``."""


@dataclass(frozen=True, slots=True)
class Reference:
    name: str
    type: str
    id: str


@dataclass(frozen=True, slots=True)
class SavedObject:
    type: str
    id: str
    attributes: Mapping[str, Any]
    references: tuple[Reference, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "attributes": dict(self.attributes),
            "references": [{"name": r.name, "type": r.type, "id": r.id} for r in self.references],
            "coreMigrationVersion": CORE_MIGRATION_VERSION,
            "typeMigrationVersion": TYPE_MIGRATION_VERSIONS[self.type],
            "managed": False,
        }


def export_objects(layout: Layout) -> list[SavedObject]:
    """Data views, panels and the dashboard, in import order (what is referenced comes first)."""
    views = [data_view(layout, view) for view in TIME_FIELDS]
    panels = [panel_object(layout.prefix, panel) for panel in CRISIS_ROOM]
    return [*views, *panels, dashboard(layout.prefix, panels)]


def to_ndjson(objects: Sequence[SavedObject]) -> str:
    """One object per line, keys sorted, in the order given; ends with a newline."""
    lines = [json.dumps(o.to_json(), sort_keys=True, ensure_ascii=False) for o in objects]
    return "".join(f"{line}\n" for line in lines)


def view_id(prefix: str, view: View) -> str:
    return f"{prefix}-{view}"


def data_view(layout: Layout, view: View) -> SavedObject:
    titles = {
        "mentions": layout.mentions,
        "threads": layout.threads,
        "incidents": layout.incidents,
        "deliveries": layout.deliveries,
    }
    attributes = {
        "title": titles[view],
        "name": f"Flarewatch {view}",
        "timeFieldName": TIME_FIELDS[view],
        "fields": "[]",
        "fieldFormatMap": "{}",
        "runtimeFieldMap": "{}",
        "typeMeta": "{}",
    }
    return SavedObject("index-pattern", view_id(layout.prefix, view), attributes)


def panel_object(prefix: str, panel: Panel) -> SavedObject:
    if isinstance(panel, Chart):
        return lens(prefix, panel)
    if isinstance(panel, Listing):
        return saved_search(prefix, panel)
    return significant_terms(prefix, panel)


def _query(kql: str) -> dict[str, str]:
    return {"language": "kuery", "query": kql}


def _search_source(kql: str, with_index: bool = True) -> dict[str, str]:
    source: dict[str, Any] = {"query": _query(kql), "filter": []}
    if with_index:
        source["indexRefName"] = SEARCH_REF
    return {"searchSourceJSON": json.dumps(source, sort_keys=True)}


def _index_ref(prefix: str, view: View) -> Reference:
    return Reference(SEARCH_REF, "index-pattern", view_id(prefix, view))


def saved_search(prefix: str, listing: Listing) -> SavedObject:
    attributes = {
        "title": listing.title,
        "description": "",
        "columns": list(listing.columns),
        "sort": [list(listing.sort)],
        "kibanaSavedObjectMeta": _search_source(listing.query),
    }
    return SavedObject(
        "search", f"{prefix}-search-{listing.key}", attributes, (_index_ref(prefix, listing.view),)
    )


def significant_terms(prefix: str, panel: SignificantTerms) -> SavedObject:
    aggs = [
        {"id": "1", "enabled": True, "type": "count", "schema": "metric", "params": {}},
        {
            "id": "2",
            "enabled": True,
            "type": "significant_terms",
            "schema": "bucket",
            "params": {"field": panel.field, "size": panel.size},
        },
    ]
    state = {
        "title": panel.title,
        "type": "table",
        "aggs": aggs,
        "params": {"perPage": 10, "showTotal": False},
    }
    attributes = {
        "title": panel.title,
        "description": "",
        "version": 1,
        "visState": json.dumps(state, sort_keys=True),
        "uiStateJSON": "{}",
        "kibanaSavedObjectMeta": _search_source(panel.query),
    }
    references = (_index_ref(prefix, panel.view),)
    return SavedObject("visualization", f"{prefix}-vis-{panel.key}", attributes, references)


def lens(prefix: str, chart: Chart) -> SavedObject:
    layer = f"{chart.key}-layer"
    ids = [f"{chart.key}-c{i}" for i in range(len(chart.buckets) + len(chart.metrics))]
    bucket_ids, metric_ids = ids[: len(chart.buckets)], ids[len(chart.buckets) :]
    columns = {i: _bucket(c, metric_ids[0]) for i, c in zip(bucket_ids, chart.buckets, strict=True)}
    columns |= {i: _metric(c) for i, c in zip(metric_ids, chart.metrics, strict=True)}
    datasource = {"layers": {layer: {"columnOrder": ids, "columns": columns, "incompleteColumns": {}}}}
    state = {
        "datasourceStates": {"formBased": datasource},
        "visualization": _visualization(chart, layer, bucket_ids, metric_ids),
        "query": _query(chart.query),
        "filters": [],
        "internalReferences": [],
        "adHocDataViews": {},
    }
    attributes = {
        "title": chart.title,
        "description": "",
        "visualizationType": "lnsDatatable" if chart.kind == "table" else "lnsXY",
        "state": state,
    }
    reference = Reference(
        f"indexpattern-datasource-layer-{layer}", "index-pattern", view_id(prefix, chart.view)
    )
    return SavedObject("lens", f"{prefix}-lens-{chart.key}", attributes, (reference,))


def _bucket(column: Column, order_by: str) -> dict[str, Any]:
    base = {"label": column.label, "customLabel": True, "sourceField": column.field, "isBucketed": True}
    if column.operation == "date_histogram":
        params = {"interval": "auto", "includeEmptyRows": True, "dropPartials": False}
        return {
            **base,
            "operationType": "date_histogram",
            "dataType": "date",
            "scale": "interval",
            "params": params,
        }
    params = {
        "size": column.size,
        "orderBy": {"type": "column", "columnId": order_by},
        "orderDirection": "desc",
        "otherBucket": True,
        "missingBucket": False,
    }
    return {
        **base,
        "operationType": column.operation,
        "dataType": "string",
        "scale": "ordinal",
        "params": params,
    }


def _metric(column: Column) -> dict[str, Any]:
    metric: dict[str, Any] = {
        "label": column.label,
        "customLabel": True,
        "operationType": column.operation,
        "dataType": "number",
        "isBucketed": False,
        "scale": "ratio",
        "sourceField": column.field or RECORDS,
        "params": {"percentile": column.percentile}
        if column.operation == "percentile"
        else {"emptyAsNull": True},
    }
    if column.kql:
        metric["filter"] = _query(column.kql)
    return metric


def _visualization(chart: Chart, layer: str, buckets: list[str], metrics: list[str]) -> dict[str, Any]:
    if chart.kind == "table":
        return {
            "layerId": layer,
            "layerType": "data",
            "columns": [{"columnId": i} for i in buckets + metrics],
        }
    series: dict[str, Any] = {
        "layerId": layer,
        "layerType": "data",
        "seriesType": chart.kind,
        "xAccessor": buckets[0],
        "accessors": metrics,
    }
    if len(buckets) > 1:
        series["splitAccessor"] = buckets[1]
    legend = {"isVisible": True, "position": "right"}
    return {
        "legend": legend,
        "valueLabels": "hide",
        "preferredSeriesType": series["seriesType"],
        "layers": [series],
    }


def dashboard(prefix: str, panels: Sequence[SavedObject]) -> SavedObject:
    """The crisis room: panels two to a row, in :data:`CRISIS_ROOM` order."""
    entries, references, y = [], [], 0
    for n, (spec, target) in enumerate(zip(CRISIS_ROOM, panels, strict=True)):
        x = 0 if n % 2 == 0 else 24
        grid = {"x": x, "y": y, "w": spec.width, "h": spec.height, "i": str(n)}
        name = f"panel_{n}"
        entries.append(
            {"version": "8.11.0", "type": target.type, "gridData": grid, "panelIndex": str(n),
             "embeddableConfig": {}, "panelRefName": name}
        )  # fmt: skip
        references.append(Reference(name, target.type, target.id))
        y += spec.height if x else 0
    attributes = {
        "title": "Flarewatch crisis room",
        "description": "Volume, sentiment, complaints, open incidents and brand responses per brand.",
        "panelsJSON": json.dumps(entries, sort_keys=True),
        "optionsJSON": json.dumps({"useMargins": True, "hidePanelTitles": False, "syncColors": False}),
        "timeRestore": True,
        "timeFrom": "now-24h",
        "timeTo": "now",
        "refreshInterval": {"pause": False, "value": 60000},
        "kibanaSavedObjectMeta": _search_source("", with_index=False),
        "version": 1,
    }
    return SavedObject("dashboard", f"{prefix}-crisis-room", attributes, tuple(references))
