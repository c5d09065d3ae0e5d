"""Index layout: names, analyzers and explicit mappings (ECS names, custom fields under
``flarewatch.*``). Filter fields are ``keyword``; searched fields are ``text``.

Mentions go to monthly indices ``<prefix>-mentions-YYYY.MM`` chosen by the mention's own time,
so a replay lands in the same index and overwrites by ``_id``. Threads, incidents and deliveries are
mutable single indices. Everything is created from composable index templates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models.labels import CATEGORIES
from streams.notify.store import DELIVERY_PROPERTIES

_LETTER = "[0-9A-Za-z_\u00c0-\u024f]"
"""Digits and Latin letters with their diacritics, spelled out: Java's ``\\w`` (Elasticsearch's
regexes) is ASCII only."""

ANALYSIS: dict[str, Any] = {
    "char_filter": {
        "word_joiners": {
            "type": "pattern_replace",
            "pattern": f"(?<={_LETTER})[.,:'\u2019](?={_LETTER})",
            "replacement": " ",
        }
    },
    "analyzer": {
        "folded": {
            "type": "custom",
            "char_filter": ["word_joiners"],
            "tokenizer": "standard",
            "filter": ["lowercase", "asciifolding"],
        }
    },
}
"""Folding makes ``zamowienie`` find ``zamówienie``: real posts drop diacritics. ``word_joiners``
splits ``allegro.pl``, ``don't`` and ``3,5`` into the words the tracking rules see (the standard
tokenizer keeps each whole), so a rule finds in search what it matched in the stream."""

KEYWORD = {"type": "keyword", "ignore_above": 1024}
DATE = {"type": "date"}
FLOAT = {"type": "float"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
OPAQUE = {"type": "object", "enabled": False}

_MESSAGE_FIELDS = {
    "hu": {"type": "text", "analyzer": "hungarian"},
    "en": {"type": "text", "analyzer": "english"},
}
MESSAGE = {"type": "text", "analyzer": "folded", "fields": _MESSAGE_FIELDS}
POLISH = {"type": "text", "analyzer": "polish"}
"""``message.pl``: Polish stems (``zamówienia`` finds ``zamówienie``). The ``polish`` analyzer comes
with the ``analysis-stempel`` plugin, so this subfield is only mapped where every node has it
(:func:`streams.search.setup.polish_stemming`); a mapping that names a missing analyzer is rejected."""
MESSAGE_WITH_POLISH = {**MESSAGE, "fields": {**_MESSAGE_FIELDS, "pl": POLISH}}
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
            "uncertain": BOOL,
            "removal": {"properties": {"removed_at": DATE, "removed_by": KEYWORD, "hidden": BOOL}},
            "noise": KEYWORD,
            "duplicate_of": KEYWORD,
            "copies": INT,
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
                    "first_response_business_seconds": FLOAT,
                    "status": KEYWORD,
                    "status_changed_at": DATE,
                    "status_history": {"properties": {"status": KEYWORD, "at": DATE}},
                    "public": BOOL,
                    "participants": KEYWORD,
                    "removed_mentions": INT,
                    "sentiment": {"properties": {"first": KEYWORD, "latest": KEYWORD, "worst": KEYWORD}},
                    "reply_actions": KEYWORD,
                    "reply_mistakes": KEYWORD,
                    "awaiting_since": DATE,
                    "sla": {
                        "properties": {
                            "target": KEYWORD,
                            "target_seconds": FLOAT,
                            "due_at": DATE,
                            "state": KEYWORD,
                        }
                    },
                }
            },
            "internal": OPAQUE,
        }
    },
}

HISTORY = {
    "properties": {
        "version": INT,
        "state": KEYWORD,
        "severity": KEYWORD,
        "at": DATE,
        "note": {"type": "text"},
    }
}
COUNTS = {"type": "object", "dynamic": True}
"""Counts by a key (a category, a language): new keys are mapped as they come, as numbers."""

INCIDENT_PROPERTIES: dict[str, Any] = {
    "@timestamp": DATE,
    "message": {"type": "text"},
    "flarewatch": {
        "properties": {
            "schema_version": INT,
            "brand": KEYWORD,
            "incident": {
                "properties": {
                    "incident_id": KEYWORD,
                    "version": INT,
                    "category": KEYWORD,
                    "categories": COUNTS,
                    "measure": KEYWORD,
                    "state": KEYWORD,
                    "severity": KEYWORD,
                    "started_at": DATE,
                    "updated_at": DATE,
                    "resolved_at": DATE,
                    "acknowledged_at": DATE,
                    "acknowledged_by": KEYWORD,
                    "bucket_seconds": INT,
                    "observed": FLOAT,
                    "expected": FLOAT,
                    "peak": FLOAT,
                    "peak_expected": FLOAT,
                    "peak_at": DATE,
                    "total": {"type": "long"},
                    "score": FLOAT,
                    "languages": COUNTS,
                    "top_terms": {**KEYWORD, "fields": {"text": {"type": "text", "analyzer": "folded"}}},
                    "representatives": OPAQUE,
                    "inhibited_by": KEYWORD,
                    "silenced_until": DATE,
                    "history": HISTORY,
                    "search_command": {"type": "keyword", "index": False, "doc_values": False},
                    "kibana_url": {"type": "keyword", "index": False, "doc_values": False},
                }
            },
        }
    },
}
"""One document per incident, ``_id`` = incident id, overwritten by each version (history kept in
it); ``@timestamp`` is when the incident started."""


@dataclass(frozen=True, slots=True)
class Layout:
    prefix: str = "flarewatch"
    shards: int = 1
    replicas: int = 0
    refresh_interval: str = "500ms"
    """For the indices searched while a crisis unfolds: mentions and threads."""

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
    def incidents(self) -> str:
        """One document per incident, its latest version."""
        return f"{self.prefix}-incidents"

    @property
    def deliveries(self) -> str:
        """One document per incident version and notifier (``Delivery.delivery_id``)."""
        return f"{self.prefix}-deliveries"

    @property
    def single_indices(self) -> tuple[str, ...]:
        """The indices that are not per month (created by ``flarewatch init``)."""
        return (self.threads, self.incidents, self.deliveries)

    @property
    def live_settings(self) -> dict[str, Any]:
        """The dynamic settings of the mention and thread indices, also put on existing ones."""
        return {"refresh_interval": self.refresh_interval}

    def templates(self, polish: bool = False) -> dict[str, dict[str, Any]]:
        """Composable index templates, by name; with ``polish``, mentions and threads also map
        ``message.pl`` (only for a cluster whose every node has the ``analysis-stempel`` plugin)."""
        settings = {"number_of_shards": self.shards, "number_of_replicas": self.replicas}
        message = MESSAGE_WITH_POLISH if polish else MESSAGE
        mentions = {**MENTION_PROPERTIES, "message": message}
        threads = {**THREAD_PROPERTIES, "message": message}
        live = {**settings, **self.live_settings}
        return {
            f"{self.prefix}-mentions": self._template(
                [f"{self.mentions}-*"], mentions, live, aliases={self.mentions: {}}
            ),
            f"{self.prefix}-threads": self._template([self.threads], threads, live),
            f"{self.prefix}-incidents": self._template([self.incidents], INCIDENT_PROPERTIES, settings),
            f"{self.prefix}-deliveries": self._template([self.deliveries], DELIVERY_PROPERTIES, settings),
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
