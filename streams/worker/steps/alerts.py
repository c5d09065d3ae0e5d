"""The alerts step: alert bytes in, alerts indexed through a
:class:`~streams.worker.steps.writes.SearchWriter`, what failed out as dead letters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from streams.contracts.codec import Invalid, decode
from streams.contracts.records import Alert, Stage
from streams.worker.messages import Failed, Incoming, error_reason, failed
from streams.worker.steps.writes import SearchWriter, rejection_reason


@dataclass(slots=True)
class AlertsOutput:
    indexed: list[Alert] = field(default_factory=list)
    """Alerts the search server acknowledged."""
    rejected: int = 0
    """Alerts the server rejected for good."""
    dead: list[Failed] = field(default_factory=list)
    valid: list[bool] = field(default_factory=list)
    """Per message: not dead-lettered (for the dead-letter limit)."""


class AlertsStep:
    """Decode alerts and index them one by one. ``run`` awaits the writer, which waits out search
    outages (so it may take as long as one lasts), and never raises an ``Exception``: every message
    ends indexed or dead-lettered with stage ``alerts`` (undecodable, rejected for good, or its
    write raising)."""

    def __init__(self, writer: SearchWriter) -> None:
        self.writer = writer

    async def run(self, batch: Sequence[Incoming]) -> AlertsOutput:
        out = AlertsOutput()
        for message in batch:
            reason = await self._index(message, out)
            if reason is not None:
                out.dead.append(failed(message, reason, Stage.ALERTS))
            out.valid.append(reason is None)
        return out

    async def _index(self, message: Incoming, out: AlertsOutput) -> str | None:
        """Why ``message`` was not indexed; None when it was (then it is in ``out.indexed``)."""
        alert = decode(Alert, message.value, message.partition, message.offset)
        if isinstance(alert, Invalid):
            return alert.reason
        try:
            rejected = await self.writer.alert(alert)
        except Exception as exc:
            return error_reason("indexing the alert", exc)
        if rejected:
            out.rejected += 1
            return rejection_reason(rejected[0])
        out.indexed.append(alert)
        return None
