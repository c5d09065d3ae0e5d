"""Index layout: names, analyzers and explicit mappings (ECS names, custom fields under
``flarewatch.*``). Filter fields are ``keyword``; searched fields are ``text``.

Mentions go to monthly indices ``<prefix>-mentions-YYYY.MM`` chosen by the mention's own time,
so a replay lands in the same index and overwrites by ``_id``. Threads and alerts are mutable
single indices. Everything is created from composable index templates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models.labels import CATEGORIES

ANALYSIS: dict[str, Any] = {
    "analyzer": {
        "folded": {
            "type": "custom",
            "tokenizer": "standard",
            "filter": ["lowercase", "asciifolding"],
        }
    }
}
"""Folding makes ``zamowienie`` find ``zamówienie``: real posts drop diacritics."""

KEYWORD = {"type": "keyword", "ignore_above": 1024}
DATE = {"type": "date"}
FLOAT = {"type": "float"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
OPAQUE = {"type": "object", "enabled": False}

MESSAGE = {
    "type": "text",
    "analyzer": "folded",
    "fields": {
        "hu": {"type": "text", "analyzer": "hungarian"},
        "en": {"type": "text", "analyzer": "english"},
    },
}
CATEGORY_COUNTS = {"properties": {c.value: INT for c in CATEGORIES}}

MENTION_PROPERTIES: dict[str, Any] = {
    "@timestamp": DATE,
    "message": MESSAGE,
    "event": {"properties": {"ingested": DATE, "kind": KEYWORD, "dataset": KEYWORD}},
    "user": {"properties": {"id": KEYWORD, "name": {**KEYWORD, "fields": {"text": {"type": "text"}}}}},
    "url": {"properties": {"full": {"type": "keyword", "ignore_above": 2048}}},
    "flarewatch": {
        "properties": {
            "schema_version": INT,
            "mention_id": KEYWORD,
            "platform": KEYWORD,
            "native_id": KEYWORD,
            "brand": KEYWORD,
            "thread": {"properties": {"key": KEYWORD, "id": KEYWORD, "parent_id": KEYWORD}},
            "source": KEYWORD,
            "channel": KEYWORD,
            "from_brand": BOOL,
            "author": {"properties": {"followers": {"type": "long"}}},
            "lang": KEYWORD,
            "sentiment": KEYWORD,
            "sentiment_scores": {"properties": {"negative": FLOAT, "neutral": FLOAT, "positive": FLOAT}},
            "complaint": BOOL,
            "complaint_score": FLOAT,
            "category": KEYWORD,
            "model": KEYWORD,
            "unscored_reason": KEYWORD,
        }
    },
}

THREAD_PROPERTIES: dict[str, Any] = {
    "@timestamp": DATE,
    "message": MESSAGE,
    "flarewatch": {
        "properties": {
            "schema_version": INT,
            "brand": KEYWORD,
            "platform": KEYWORD,
            "channel": KEYWORD,
            "source": KEYWORD,
            "thread": {
                "properties": {
                    "key": KEYWORD,
                    "root_id": KEYWORD,
                    "started_at": DATE,
                    "last_activity_at": DATE,
                    "mentions": INT,
                    "customer_mentions": INT,
                    "brand_replies": INT,
                    "negative": INT,
                    "complaints": INT,
                    "categories": CATEGORY_COUNTS,
                    "first_customer_at": DATE,
                    "first_response_at": DATE,
                    "first_response_seconds": FLOAT,
                    "status": KEYWORD,
                }
            },
            "internal": OPAQUE,
        }
    },
}

ALERT_PROPERTIES: dict[str, Any] = {
    "@timestamp": DATE,
    "message": {"type": "text"},
    "event": {"properties": {"created": DATE, "kind": KEYWORD, "severity": {"type": "long"}}},
    "flarewatch": {
        "properties": {
            "schema_version": INT,
            "brand": KEYWORD,
            "alert": {
                "properties": {
                    "id": KEYWORD,
                    "kind": KEYWORD,
                    "window_end": DATE,
                    "observed": INT,
                    "baseline_mean": FLOAT,
                    "baseline_std": FLOAT,
                    "threshold": FLOAT,
                    "score": FLOAT,
                    "top_categories": {"properties": {**CATEGORY_COUNTS["properties"], "no_complaint": INT}},
                    "sample_mention_ids": KEYWORD,
                }
            },
        }
    },
}


@dataclass(frozen=True, slots=True)
class Layout:
    prefix: str = "flarewatch"
    shards: int = 1
    replicas: int = 0

    @property
    def mentions(self) -> str:
        """The alias that spans every monthly mention index."""
        return f"{self.prefix}-mentions"

    def mention_index(self, at: datetime) -> str:
        return f"{self.prefix}-mentions-{at:%Y.%m}"

    @property
    def threads(self) -> str:
        return f"{self.prefix}-threads"

    @property
    def alerts(self) -> str:
        return f"{self.prefix}-alerts"

    def templates(self) -> dict[str, dict[str, Any]]:
        """Composable index templates, by name."""
        settings = {"number_of_shards": self.shards, "number_of_replicas": self.replicas}
        return {
            f"{self.prefix}-mentions": self._template(
                [f"{self.mentions}-*"], MENTION_PROPERTIES, settings, aliases={self.mentions: {}}
            ),
            f"{self.prefix}-threads": self._template([self.threads], THREAD_PROPERTIES, settings),
            f"{self.prefix}-alerts": self._template([self.alerts], ALERT_PROPERTIES, settings),
        }

    def _template(
        self,
        patterns: list[str],
        properties: dict[str, Any],
        settings: dict[str, Any],
        aliases: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        template: dict[str, Any] = {
            "settings": {**settings, "analysis": ANALYSIS},
            "mappings": {"dynamic": "strict", "properties": properties},
        }
        if aliases:
            template["aliases"] = aliases
        return {
            "index_patterns": patterns,
            "template": template,
            "priority": 200,
            "_meta": {"managed_by": "flarewatch", "schema_version": 1},
        }
