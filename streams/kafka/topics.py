"""Topic names, all under one configurable prefix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Topics:
    prefix: str = "flarewatch"

    @property
    def raw(self) -> str:
        """Raw mentions from collectors, keyed by brand and thread."""
        return f"{self.prefix}.mentions.raw"

    @property
    def scored(self) -> str:
        """Scored mentions, keyed like the raw ones."""
        return f"{self.prefix}.mentions.scored"

    @property
    def alerts(self) -> str:
        """Spike alerts, keyed by brand."""
        return f"{self.prefix}.alerts"

    @property
    def dead_letters(self) -> str:
        """Messages no step could handle, keyed ``topic:partition:offset``."""
        return f"{self.prefix}.deadletters"

    def all(self) -> list[str]:
        return [self.raw, self.scored, self.alerts, self.dead_letters]
