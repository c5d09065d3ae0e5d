"""Records as Elasticsearch documents (ECS field names, the rest under ``flarewatch.*``)."""

from __future__ import annotations

from typing import Any

from streams.contracts.incidents import Incident
from streams.contracts.records import MentionRemoval, ScoredMention, Thread
from streams.search.threads import Service


def mention_document(scored: ScoredMention) -> dict[str, Any]:
    m, s = scored.mention, scored.scores
    return {
        "@timestamp": m.created_at.isoformat(),
        "message": m.text,
        "event": {
            "ingested": scored.scored_at.isoformat(),
            "kind": "event",
            "dataset": "flarewatch.mention",
        },
        "user": {"id": m.author.id, "name": m.author.name},
        "url": {"full": m.url},
        "flarewatch": {
            "schema_version": 1,
            "mention_id": m.mention_id,
            "platform": m.platform.value,
            "native_id": m.native_id,
            "brand": m.brand,
            "thread": {
                "key": m.thread_key,
                "id": m.thread_id or m.native_id,
                "parent_id": m.parent_id,
            },
            "source": m.source.value,
            "channel": m.channel.value,
            "from_brand": m.from_brand,
            "author": {"followers": m.author.followers},
            "lang": s.lang,
            "sentiment": s.sentiment,
            "sentiment_scores": s.sentiment_scores,
            "complaint": s.complaint,
            "complaint_score": s.complaint_score,
            "category": s.category,
            "model": s.model,
            "unscored_reason": s.unscored_reason,
            "uncertain": s.uncertain,
            "noise": list(m.noise),
            "duplicate_of": m.duplicate_of,
            "copies": m.copies,
        },
    }


def thread_document(
    thread: Thread, opening_text: str | None = None, service: Service | None = None
) -> dict[str, Any]:
    body = thread.model_dump(
        mode="json",
        exclude={
            "schema_version",
            "brand",
            "platform",
            "channel",
            "source",
            "mention_ids",
            "brand_reply_times",
            "turns",
            "resolved_at",
            "alerts_sent",
        },
    )
    body["root_id"] = thread.root_id
    if service is not None:
        body["first_response_business_seconds"] = service.first_response_business_seconds
        if service.clock is not None:
            c = service.clock
            body["sla"] = {
                "target": c.target,
                "target_seconds": c.elapsed_seconds + c.remaining_seconds,
                "due_at": c.due_at.isoformat(),
                "state": c.state,
            }
    doc: dict[str, Any] = {
        "@timestamp": thread.last_activity_at.isoformat(),
        "flarewatch": {
            "schema_version": 1,
            "brand": thread.brand,
            "platform": thread.platform.value,
            "channel": thread.channel.value,
            "source": thread.source.value,
            "thread": body,
            "internal": {
                "mention_ids": list(thread.mention_ids),
                "brand_reply_times": [t.isoformat() for t in thread.brand_reply_times],
                "turns": [t.model_dump(mode="json") for t in thread.turns],
                "resolved_at": [t.isoformat() for t in thread.resolved_at],
                "alerts_sent": list(thread.alerts_sent),
            },
        },
    }
    if opening_text is not None:
        doc["message"] = opening_text
    return doc


def thread_from_document(doc: dict[str, Any]) -> Thread:
    fw = doc["flarewatch"]
    derived = ("sla", "first_response_business_seconds")  # written from the thread and a clock
    return Thread.model_validate(
        {
            **{k: v for k, v in fw["thread"].items() if k not in derived},
            "brand": fw["brand"],
            "platform": fw["platform"],
            "channel": fw["channel"],
            "source": fw["source"],
            "mention_ids": fw["internal"]["mention_ids"],
            "brand_reply_times": fw["internal"]["brand_reply_times"],
            "turns": fw["internal"].get("turns", []),
            "resolved_at": fw["internal"].get("resolved_at", []),
            "alerts_sent": fw["internal"].get("alerts_sent", []),
        }
    )


def incident_document(incident: Incident) -> dict[str, Any]:
    """The incident's latest version: every field under ``flarewatch.incident`` (the brand under
    ``flarewatch.brand``, as in every index), ``@timestamp`` = when it started."""
    body = incident.model_dump(mode="json", exclude={"schema_version", "brand"})
    return {
        "@timestamp": incident.started_at.isoformat(),
        "message": incident_summary(incident),
        "flarewatch": {"schema_version": 1, "brand": incident.brand, "incident": body},
    }


def incident_from_document(doc: dict[str, Any]) -> Incident:
    fw = doc["flarewatch"]
    return Incident.model_validate({**fw["incident"], "brand": fw["brand"]})


def incident_summary(incident: Incident) -> str:
    i = incident
    what = "complaints" if i.measure == "complaints" else "negative mentions"
    return (
        f"{i.brand} {i.category or what}: {i.state.value} ({i.severity}), {i.observed:g} {what} "
        f"in {i.bucket_seconds // 60} min against {i.expected:.1f} expected, peak {i.peak:g}"
    )


def removal_document(removal: MentionRemoval) -> dict[str, Any]:
    """What a removal adds to its mention's document."""
    return {
        "flarewatch": {
            "removal": {
                "removed_at": removal.removed_at.isoformat(),
                "removed_by": removal.removed_by,
                "hidden": removal.hidden,
            }
        }
    }


def removal_placeholder(removal: MentionRemoval) -> dict[str, Any]:
    """The document of a mention removed before it was indexed: its ids, brand and time, and the
    removal; indexing the mention later fills in the rest."""
    platform, _, native_id = removal.mention_id.partition(":")
    doc = removal_document(removal)
    doc["flarewatch"].update(
        {
            "mention_id": removal.mention_id,
            "platform": platform,
            "native_id": native_id,
            "brand": removal.brand,
        }
    )
    assert removal.created_at is not None
    doc["@timestamp"] = removal.created_at.isoformat()
    return doc
