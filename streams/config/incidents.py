"""The incident lifecycle's knobs and the silences (the YAML's ``incidents:`` section).

A silence mutes the pages of one brand's incidents (one category, or all of them when ``category``
is left out) until a moment: versions are still written and listed, only not delivered.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from models.incidents import LifecycleConfig, Silence


class SilenceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    brand: str = Field(min_length=1)
    category: str | None = None
    """None: every incident of the brand, brand-wide and per category."""
    until: AwareDatetime
    """With a timezone (``2026-11-20T18:00:00Z``)."""
    reason: str = ""


class IncidentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reopen_within_minutes: float = Field(default=60.0, ge=0)
    """A flare of the same brand and problem starting this soon after a resolve reopens that incident."""
    growth_factor: float = Field(default=2.0, gt=1)
    """Still flaring, no new severity: a new version (``updated``) once the bucket count has grown this
    many times over the count of the last version."""
    fold_share: float = Field(default=0.5, gt=0, le=1)
    """A brand-wide flare is folded into an open category incident that accounts for at least this
    share of the brand-wide excess over the baseline."""
    history_limit: int = Field(default=50, ge=2, le=1000)
    """Versions kept in an incident's history: the first, then the latest."""
    silences: tuple[SilenceSettings, ...] = ()

    @property
    def reopen_within(self) -> timedelta:
        return timedelta(minutes=self.reopen_within_minutes)

    def active_silences(self, at: datetime) -> tuple[SilenceSettings, ...]:
        return tuple(s for s in self.silences if s.until > at)

    def lifecycle(self) -> LifecycleConfig:
        """The lifecycle's configuration (``models.incidents``)."""
        return LifecycleConfig(
            growth_factor=self.growth_factor,
            reopen_within=self.reopen_within,
            fold_share=self.fold_share,
            history_limit=self.history_limit,
        )

    def silence_rules(self) -> tuple[Silence, ...]:
        return tuple(Silence(s.brand, s.category, s.until) for s in self.silences)
