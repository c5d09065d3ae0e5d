"""Queries behind ``flarewatch search`` (and the search command an incident links to)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class MentionFilter:
    text: str = ""
    brand: str | None = None
    complaints: bool = False
    sentiment: str | None = None
    category: str | None = None
    lang: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    uncertain: bool = False
    """Only mentions the model scored below ``scoring.uncertain_below``: the ones to review."""


MESSAGE_FIELDS = ("message^2", "message.hu", "message.en", "message.pl")
"""``message.pl`` (Polish stems) is mapped only where the cluster has the ``analysis-stempel``
plugin; elsewhere Elasticsearch skips a field that is not mapped, so one list serves both."""


def mention_query(f: MentionFilter) -> dict[str, Any]:
    """Full-text on ``message`` (diacritic-folded, plus Hungarian, English and, where mapped, Polish
    stems); the rest are keyword filters, which do not affect ranking."""
    must: list[dict[str, Any]] = []
    if f.text.strip() and f.text.strip() != "*":
        must.append(
            {
                "multi_match": {
                    "query": f.text,
                    "fields": list(MESSAGE_FIELDS),
                    "operator": "and",
                }
            }
        )
    filters: list[dict[str, Any]] = []
    for field, value in (
        ("flarewatch.brand", f.brand),
        ("flarewatch.sentiment", f.sentiment),
        ("flarewatch.category", f.category),
        ("flarewatch.lang", f.lang),
    ):
        if value:
            filters.append({"term": {field: value}})
    if f.complaints:
        filters.append({"term": {"flarewatch.complaint": True}})
    if f.uncertain:
        filters.append({"term": {"flarewatch.uncertain": True}})
    if f.since or f.until:
        bounds = {k: v.isoformat() for k, v in (("gte", f.since), ("lt", f.until)) if v}
        filters.append({"range": {"@timestamp": bounds}})
    return {"bool": {"must": must or [{"match_all": {}}], "filter": filters}}


def format_mention(hit: dict[str, Any], width: int = 110) -> str:
    src = hit["_source"]
    fw = src["flarewatch"]
    label = fw["sentiment"]
    if fw.get("complaint"):
        label += f" complaint/{fw.get('category')} {fw.get('complaint_score') or 0:.2f}"
    if fw.get("uncertain"):
        label += " (uncertain)"
    who = (
        "BRAND"
        if fw.get("from_brand")
        else (src.get("user", {}).get("name") or src.get("user", {}).get("id"))
    )
    text = " ".join(str(src.get("message", "")).split())
    if len(text) > width:
        text = text[: width - 1] + "…"
    return (
        f"{src['@timestamp'][:16].replace('T', ' ')}  {fw['brand']:<10} {fw['platform']:<9} "
        f"{fw.get('lang') or '--':<3} {label}\n    {who}: {text}"
    )
