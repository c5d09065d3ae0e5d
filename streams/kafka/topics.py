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
    def removals(self) -> str:
        """Mentions the platform no longer shows (deleted or hidden), keyed by mention id."""
        return f"{self.prefix}.mentions.removed"

    @property
    def scored(self) -> str:
        """Scored mentions, keyed like the raw ones."""
        return f"{self.prefix}.mentions.scored"

    @property
    def flares(self) -> str:
        """The detector's :class:`~streams.contracts.incidents.FlareSignal` records, keyed by brand."""
        return f"{self.prefix}.flares"

    @property
    def incident_commands(self) -> str:
        """:class:`~streams.contracts.incidents.IncidentCommand` records (acknowledge), keyed by brand."""
        return f"{self.prefix}.incident-commands"

    @property
    def incidents(self) -> str:
        """:class:`~streams.contracts.incidents.IncidentEvent` records (every incident version, for
        the notifiers), keyed by incident id."""
        return f"{self.prefix}.incidents"

    @property
    def dead_letters(self) -> str:
        """Messages no step could handle, keyed ``topic:partition:offset``."""
        return f"{self.prefix}.deadletters"

    def all(self) -> list[str]:
        return [
            self.raw,
            self.removals,
            self.scored,
            self.flares,
            self.incident_commands,
            self.incidents,
            self.dead_letters,
        ]
