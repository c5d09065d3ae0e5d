"""How an alert is announced on the terminal, and read back from its search document."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from streams.config.settings import Settings
from streams.contracts.records import Alert, AlertKind


def alert_from_document(doc: dict[str, Any]) -> Alert:
    a = doc["flarewatch"]["alert"]
    return Alert(
        alert_id=a["id"],
        kind=AlertKind(a["kind"]),
        brand=doc["flarewatch"]["brand"],
        window_start=doc["@timestamp"],
        window_end=a["window_end"],
        observed=a["observed"],
        baseline_mean=a["baseline_mean"],
        baseline_std=a["baseline_std"],
        threshold=a["threshold"],
        score=a["score"],
        top_categories=a["top_categories"],
        sample_mention_ids=tuple(a["sample_mention_ids"]),
        fired_at=doc["event"]["created"],
    )


def announce(alert: Alert, settings: Settings) -> str:
    top = ", ".join(f"{k} {v}" for k, v in alert.top_categories.items())
    since = (alert.window_start - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    return (
        f"\n*** ALERT {alert.brand}: complaint spike, {alert.observed} negative mentions "
        f"{alert.window_start:%a %d %b %H:%M}-{alert.window_end:%H:%M} UTC "
        f"(baseline {alert.baseline_mean:.1f}/h, threshold {alert.threshold:.0f}, {alert.score:.1f} sd)\n"
        f"    top problems: {top}\n"
        f"    see them: flarewatch search --brand {alert.brand} --complaints --since {since}\n"
        f"    in Kibana: index pattern {settings.elasticsearch.index_prefix}-mentions, "
        f"filter flarewatch.brand:{alert.brand} and flarewatch.complaint:true"
    )
