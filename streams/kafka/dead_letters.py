"""Dead letters: what goes to the dead-letter topic, and when to stop instead."""

from __future__ import annotations

import base64
from collections import deque
from dataclasses import dataclass

from streams.contracts.codec import Invalid
from streams.contracts.limits import MAX_KEPT_BYTES
from streams.contracts.records import DeadLetter, utc_now


class TooManyInvalid(RuntimeError):
    """Most recent messages are invalid: a bad deploy or a wrong topic, not bad luck.

    The worker stops rather than dead-lettering everything.
    """


@dataclass(frozen=True, slots=True)
class DlqLimit:
    max_invalid_ratio: float = 0.5
    """Stop when more than this share of the last ``window`` messages was invalid..."""
    window: int = 200
    min_messages: int = 50
    """...once at least this many messages were seen."""
    max_consecutive: int = 100
    """Stop after this many invalid messages in a row, whatever the ratio."""


class DlqGuard:
    """Counts outcomes; ``record`` raises :class:`TooManyInvalid` when a limit is crossed."""

    def __init__(self, limit: DlqLimit) -> None:
        self.limit = limit
        self.recent: deque[bool] = deque(maxlen=limit.window)
        self.consecutive = 0

    def record(self, valid: bool) -> None:
        self.recent.append(valid)
        self.consecutive = 0 if valid else self.consecutive + 1
        if self.consecutive > self.limit.max_consecutive:
            raise TooManyInvalid(
                f"{self.consecutive} invalid messages in a row (limit {self.limit.max_consecutive}); "
                "stopping: check the producer and the topic"
            )
        bad = self.recent.count(False)
        seen = len(self.recent)
        if seen >= self.limit.min_messages and bad / seen > self.limit.max_invalid_ratio:
            raise TooManyInvalid(
                f"{bad} of the last {seen} messages were invalid "
                f"(limit {self.limit.max_invalid_ratio:.0%}); stopping: check the producer and the topic"
            )


def dead_letter(
    invalid: Invalid, stage: str, topic: str, key: bytes | None, value: bytes | None
) -> DeadLetter:
    return DeadLetter(
        reason=invalid.reason,
        stage=stage,
        topic=topic,
        partition=invalid.partition,
        offset=invalid.offset,
        key_b64=base64.b64encode(key).decode() if key is not None else None,
        value_b64=base64.b64encode((value or b"")[:MAX_KEPT_BYTES]).decode(),
        value_size=len(value or b""),
        value_truncated=len(value or b"") > MAX_KEPT_BYTES,
        failed_at=utc_now(),
    )
