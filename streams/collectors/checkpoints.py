"""One JSON file per source: its checkpoint, and the batch in flight when there is one.

Before a batch is sent the file records it (its mentions, the checkpoint after it, and the raw
topic's offsets before the send); after the broker acknowledged it the file holds the new
checkpoint alone. A collector killed in between finds the batch in flight when it starts, reads
the topic back from those offsets, sends only what is missing, and then moves the checkpoint:
nothing is missed and nothing is published twice. Each write is atomic (a temporary file,
fsync, rename).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from streams.collectors.source import Checkpoint, SourceStopped
from streams.contracts.records import RawMention

STATE_VERSION = 1


class CheckpointError(SourceStopped):
    """A checkpoint file that cannot be read: one line naming it. The source stops: guessing
    could miss or repeat mentions."""


@dataclass(frozen=True, slots=True)
class InFlight:
    checkpoint: Checkpoint | None
    mentions: tuple[RawMention, ...]
    offsets: dict[int, int]


@dataclass(frozen=True, slots=True)
class SourceState:
    checkpoint: Checkpoint | None = None
    in_flight: InFlight | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class CheckpointStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, source: str) -> Path:
        return self.folder / f"{source}.json"

    def load(self, source: str) -> SourceState:
        path = self.path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return SourceState()
        except OSError as exc:
            raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror}") from None
        try:
            data = json.loads(text)
            if data.get("state_version") != STATE_VERSION:
                version = data.get("state_version")
                raise CheckpointError(f"checkpoint {path}: unknown state version {version!r}")
            flight = data.get("in_flight")
            in_flight = None
            if flight is not None:
                in_flight = InFlight(
                    flight["checkpoint"],
                    tuple(RawMention.model_validate(m) for m in flight["mentions"]),
                    {int(p): int(o) for p, o in flight["offsets"].items()},
                )
            return SourceState(data.get("checkpoint"), in_flight, dict(data.get("extra") or {}))
        except CheckpointError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CheckpointError(
                f"checkpoint {path} is damaged ({type(exc).__name__}); "
                "move it away to start the source afresh"
            ) from None

    def save(self, source: str, state: SourceState) -> None:
        flight = state.in_flight
        data = {
            "state_version": STATE_VERSION,
            "source": source,
            "saved_at": datetime.now(UTC).isoformat(),
            "checkpoint": state.checkpoint,
            "in_flight": None
            if flight is None
            else {
                "checkpoint": flight.checkpoint,
                "mentions": [m.model_dump(mode="json") for m in flight.mentions],
                "offsets": {str(p): o for p, o in flight.offsets.items()},
            },
            "extra": state.extra,
        }
        write_atomically(self.path(source), json.dumps(data, ensure_ascii=False))


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
