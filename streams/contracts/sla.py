"""SLA alerts: a thread about to miss, or missing, a response target. They travel on the incidents
topic beside incident events (keyed by thread) to the same notifiers, routes and delivery records."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from streams.contracts.codec import Invalid, decode, parse_object
from streams.contracts.incidents import IncidentEvent, Severity
from streams.contracts.limits import MAX_MESSAGE_BYTES
from streams.contracts.records import Record, UtcDatetime

SlaEventType = Literal["sla.warning", "sla.breach"]
SLA_SEVERITY: dict[str, Severity] = {"sla.warning": "watch", "sla.breach": "warning"}
"""What a route's ``min_severity`` compares an SLA alert with: a warning is ``watch``, a breach
``warning``; neither is ``critical``."""


class SlaEvent(Record):
    schema_version: Literal[1] = 1
    event_id: str
    """``thread_key:target:kind:clock start``: the webhook id and the delivery key, so each alert
    is delivered once per thread, target and clock."""
    type: SlaEventType
    brand: str
    thread_key: str
    platform: str
    channel: Literal["public", "private"]
    status: str
    target: str
    target_seconds: float
    started_at: UtcDatetime
    """The customer message the clock runs from."""
    due_at: UtcDatetime
    """When the answer is (or was) due."""
    opening: str | None = Field(default=None, max_length=500)
    """The thread's first post, shortened."""
    emitted_at: UtcDatetime
    page: bool = True

    @property
    def severity(self) -> Severity:
        return SLA_SEVERITY[self.type]


Alert = IncidentEvent | SlaEvent
"""What notifiers deliver."""


def subject(event: Alert) -> tuple[str, int]:
    """The incident id and version, or the thread key and 0: what a delivery record names."""
    if isinstance(event, SlaEvent):
        return event.thread_key, 0
    return event.incident.incident_id, event.incident.version


def decode_alert(
    value: bytes | None, partition: int = -1, offset: int = -1, max_bytes: int = MAX_MESSAGE_BYTES
) -> Alert | Invalid:
    """An incident event or an SLA alert, by its ``type``; never raises (see :func:`decode`)."""
    parsed = parse_object(value, partition, offset, max_bytes)
    if isinstance(parsed, Invalid):
        return parsed
    kind = parsed.get("type")
    model: type[IncidentEvent] | type[SlaEvent] = (
        SlaEvent if isinstance(kind, str) and kind.startswith("sla.") else IncidentEvent
    )
    return decode(model, value, partition, offset, max_bytes)
