"""What every notifier says about an SLA alert: which thread, which target, when it is or was due."""

from __future__ import annotations

from typing import Any

from streams.contracts.sla import SlaEvent


def hours(seconds: float) -> str:
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds / 60:g} min"


def summary(event: SlaEvent) -> str:
    """``[SLA breach] zakupowo public_complaint (2 h): facebook thread zakupowo:facebook:p1 due 14:30Z``."""
    kind = "breach" if event.type == "sla.breach" else "warning"
    verb = "was due" if kind == "breach" else "is due"
    return (
        f"[SLA {kind}] {event.brand} {event.target} ({hours(event.target_seconds)}): {event.channel} "
        f"{event.platform} thread {event.thread_key} waiting since {event.started_at:%Y-%m-%d %H:%M}Z, "
        f"answer {verb} {event.due_at:%Y-%m-%d %H:%M}Z"
    )


def details(event: SlaEvent) -> dict[str, Any]:
    return {
        "thread_key": event.thread_key,
        "brand": event.brand,
        "platform": event.platform,
        "channel": event.channel,
        "status": event.status,
        "target": event.target,
        "target_seconds": event.target_seconds,
        "waiting_since": event.started_at.isoformat(),
        "due_at": event.due_at.isoformat(),
        "opening": event.opening,
    }
