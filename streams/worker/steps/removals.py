"""The removals step: :class:`~streams.contracts.records.MentionRemoval` bytes in; each recorded
on its mention's document; what could not be read or placed out as dead letters (stage
``removals``; replaying one after its mention is indexed records it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from streams.contracts.codec import Invalid, decode
from streams.contracts.limits import MAX_MESSAGE_BYTES
from streams.contracts.records import MentionRemoval, Stage
from streams.worker.messages import Failed, Incoming, failed
from streams.worker.steps.writes import rejection_reason

if TYPE_CHECKING:
    from streams.search.sink import Rejected


class RemovalWriter(Protocol):
    async def removals(self, batch: Sequence[MentionRemoval]) -> list[Rejected]:
        """Record the removals; the ones rejected for good (``action.id``: mention id)."""
        ...


@dataclass(slots=True)
class RemovalsOutput:
    recorded: int = 0
    dead: list[Failed] = field(default_factory=list)
    valid: list[bool] = field(default_factory=list)


class RemovalsStep:
    def __init__(self, writer: RemovalWriter, max_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.writer = writer
        self.max_bytes = max_bytes

    async def run(self, batch: Sequence[Incoming]) -> RemovalsOutput:
        out = RemovalsOutput()
        pairs: list[tuple[Incoming, MentionRemoval]] = []
        for message in batch:
            record = decode(MentionRemoval, message.value, message.partition, message.offset, self.max_bytes)
            if isinstance(record, Invalid):
                out.dead.append(failed(message, record.reason, Stage.REMOVALS))
            else:
                pairs.append((message, record))
        rejected = await self.writer.removals([r for _, r in pairs]) if pairs else []
        reasons = {r.action.id: rejection_reason(r) for r in rejected}
        for message, removal in pairs:
            reason = reasons.get(removal.mention_id)
            if reason is None:
                out.recorded += 1
            else:
                out.dead.append(failed(message, reason, Stage.REMOVALS))
        dead = {id(message) for message, _ in out.dead}
        out.valid = [id(message) not in dead for message in batch]
        return out
