"""The flare-up detector's section: buckets, what is counted, and the detector's knobs.

Every default is :class:`models.detection.DetectorConfig`'s (the evaluated one); the section is
checked by building that config, so a bad combination fails at start-up with the field named.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.detection import DetectorConfig, Threshold

_D = DetectorConfig()


class LevelSettings(BaseModel):
    """One severity's bar (see :class:`models.detection.Threshold`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    score: float = Field(gt=0)
    """Robust z-score over the baseline (Anscombe scale)."""
    ratio: float = Field(ge=1)
    """Count over the baseline."""
    growth: float | None = Field(default=None, gt=1)
    """Reached one level early when the count grew this many times over ``growth_buckets``."""

    @classmethod
    def of(cls, t: Threshold) -> LevelSettings:
        return cls(score=t.score, ratio=t.ratio, growth=t.growth)

    def threshold(self) -> Threshold:
        return Threshold(score=self.score, ratio=self.ratio, growth=self.growth)


class SeveritySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    watch: LevelSettings = LevelSettings.of(_D.watch)
    warning: LevelSettings = LevelSettings.of(_D.warning)
    critical: LevelSettings = LevelSettings.of(_D.critical)


class DetectorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bucket_minutes: int = Field(default=5, ge=1, le=24 * 60)
    """Best a divisor of an hour (or whole hours that divide a week): the baseline is by hour of
    week."""
    allowed_lateness_minutes: int = Field(default=10, ge=0)
    """A bucket closes (is fed to the detector) this long after the newest mention passed its end."""
    reach_weighting: bool = False
    """Each mention counts ``1 + log10(1 + followers / 1000)`` instead of 1."""
    measure: Literal["complaints", "negative"] = "complaints"
    """What a series counts (``streams.contracts.incidents.Measure``)."""
    min_count: float = Field(default=_D.min_count, gt=0)
    """Nothing fires below this count in a bucket."""
    warmup_hours: float = Field(default=_D.warmup_hours, ge=0)
    """Observed time before a new series may fire (the hour-of-week baseline needs a week)."""
    severity: SeveritySettings = SeveritySettings()
    growth_buckets: int = Field(default=_D.growth_buckets, ge=1)
    resolve_score: float = Field(default=_D.resolve_score, gt=0)
    """A flaring bucket under this score is calm..."""
    resolve_minutes: float = Field(default=_D.resolve_minutes, ge=0)
    """...and the flare ends after this long calm."""
    cooldown_minutes: float = Field(default=_D.cooldown_minutes, ge=0)
    """After an end, only ``warning`` or worse starts a new flare for this long."""
    history_days: int = Field(default=_D.history_days, ge=7)
    level_half_life_hours: float = Field(default=_D.level_half_life_hours, gt=0)
    flare_half_life_hours: float = Field(default=_D.flare_half_life_hours, gt=0)
    spread_half_life_hours: float = Field(default=_D.spread_half_life_hours, gt=0)
    winsorise: float = Field(default=_D.winsorise, gt=0)

    @model_validator(mode="after")
    def _valid_config(self) -> DetectorSettings:
        self.config()
        return self

    def config(self) -> DetectorConfig:
        """The detector's config; raises ``ValueError`` for a bad combination."""
        s = self.severity
        return DetectorConfig(
            bucket_seconds=self.bucket_minutes * 60,
            min_count=self.min_count,
            warmup_hours=self.warmup_hours,
            watch=s.watch.threshold(),
            warning=s.warning.threshold(),
            critical=s.critical.threshold(),
            growth_buckets=self.growth_buckets,
            resolve_score=self.resolve_score,
            resolve_minutes=self.resolve_minutes,
            cooldown_minutes=self.cooldown_minutes,
            history_days=self.history_days,
            level_half_life_hours=self.level_half_life_hours,
            flare_half_life_hours=self.flare_half_life_hours,
            spread_half_life_hours=self.spread_half_life_hours,
            winsorise=self.winsorise,
        )
