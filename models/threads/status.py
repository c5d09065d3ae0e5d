"""A thread's status over time, replayed from its turns: the same turns give the same history
whatever order they arrived in.

- ``new``: a customer wrote and the brand has not answered yet;
- ``awaiting_brand``: the customer wrote again after the brand's last reply;
- ``awaiting_customer``: the brand's reply is the last word (or the brand started the thread);
- ``resolved``: a brand reply that closes the case, a customer's thanks, or a command; a later
  customer message opens it again (``awaiting_brand``);
- ``stale``: an open thread with no activity for ``stale_after``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Status = Literal["new", "awaiting_brand", "awaiting_customer", "resolved", "stale"]
OPEN: frozenset[Status] = frozenset({"new", "awaiting_brand", "awaiting_customer"})


@dataclass(frozen=True, slots=True)
class Turn:
    """One message as the status and the response clocks need it."""

    id: str
    at: datetime
    from_brand: bool
    sentiment: str = "neutral"
    closes: bool = False
    """A brand reply that closes the case, or a customer's thanks."""
    actions: tuple[str, ...] = ()
    """What a brand reply did (:class:`models.threads.replies.ReplyAction` values)."""
    removed: bool = False
    """Deleted or hidden on the platform since; it stays in the thread."""


@dataclass(frozen=True, slots=True)
class Change:
    status: Status
    at: datetime


def _after(status: Status | None, turn: Turn) -> Status:
    if turn.closes:
        return "resolved"
    if turn.from_brand:
        return "awaiting_customer"
    return "new" if status in (None, "new") else "awaiting_brand"


def history(
    turns: Sequence[Turn],
    resolved_at: Sequence[datetime] = (),
    stale_after: timedelta | None = None,
    now: datetime | None = None,
) -> tuple[Change, ...]:
    """Every change of status, oldest first. ``resolved_at`` are the times of resolve commands;
    ``stale_after`` with ``now`` adds ``stale`` when an open thread has been quiet that long."""
    events: list[tuple[datetime, str, Turn | None]] = [(t.at, t.id, t) for t in turns]
    events += [(at, "", None) for at in resolved_at]
    changes: list[Change] = []
    status: Status | None = None
    for at, _, turn in sorted(events, key=lambda e: (e[0], e[1])):
        new: Status = "resolved" if turn is None else _after(status, turn)
        if new != status:
            changes.append(Change(new, at))
            status = new
    if status in OPEN and stale_after is not None and now is not None and turns:
        quiet_since = max(t.at for t in turns)
        if now - quiet_since >= stale_after:
            changes.append(Change("stale", quiet_since + stale_after))
    return tuple(changes)
