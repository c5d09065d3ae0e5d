"""Business hours, response targets and thread housekeeping: the ``threads:`` section, and what a
brand may override in its own entry."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.threads.calendar import BusinessCalendar
from models.threads.policy import SlaPolicy
from models.threads.sla import DEFAULT_TARGETS, SlaTarget


def _office_hours() -> dict[str, tuple[str, ...]]:
    return {"mon-fri": ("09:00-17:00",)}


class BusinessHoursSettings(BaseModel):
    """When the service team is open: local hours in a time zone, minus public holidays of a
    country (the ``holidays`` package) and explicitly closed dates."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "UTC"
    hours: dict[str, tuple[str, ...]] = Field(default_factory=_office_hours)
    """Day or day range -> intervals, e.g.
    ``{mon-fri: ["08:00-12:00", "12:30-16:00"], sat: ["10:00-14:00"]}``."""
    country: str | None = None
    """ISO 3166 code whose public holidays close the day (``PL``, ``HU``)."""
    subdivision: str | None = None
    closed: tuple[date, ...] = ()

    @model_validator(mode="after")
    def _builds(self) -> BusinessHoursSettings:
        self.calendar()  # raises ValueError with a one-line reason
        return self

    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar.build(self.timezone, self.hours, self.country, self.subdivision, self.closed)


class TargetSettings(BaseModel):
    """One response-time target."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9_]{1,64}$")
    hours: float = Field(default=0.0, ge=0, le=24 * 366)
    """The target; with ``same_day``, the least business time granted (0: the close alone)."""
    same_day: bool = False
    """Due at the close of the business day the clock starts in (needs ``business_hours``)."""
    business_hours: bool = False
    """The clock runs only in business hours."""
    channel: Literal["public", "private", "any"] = "any"
    complaints_only: bool = False
    warn_at: float = Field(default=0.75, gt=0, lt=1)
    """The share of the target at which a warning is sent."""
    kind: Literal["first_response", "next_response", "reply_window"] = "first_response"

    @model_validator(mode="after")
    def _valid(self) -> TargetSettings:
        self.target()
        return self

    def target(self) -> SlaTarget:
        return SlaTarget(
            self.name,
            self.hours * 3600,
            self.business_hours,
            self.channel,
            self.complaints_only,
            self.warn_at,
            self.kind,
            self.same_day,
        )

    @classmethod
    def of(cls, target: SlaTarget) -> TargetSettings:
        return cls(
            name=target.name,
            hours=target.seconds / 3600,
            same_day=target.until_close,
            business_hours=target.business_hours,
            channel=target.applies_to,
            complaints_only=target.complaints_only,
            warn_at=target.warn_at,
            kind=target.kind,
        )


def default_targets() -> tuple[TargetSettings, ...]:
    """A public complaint within 2 hours; a private message the same business day; Messenger's
    24-hour reply window."""
    return tuple(TargetSettings.of(t) for t in DEFAULT_TARGETS)


class ThreadSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    stale_after_hours: float = Field(default=72.0, gt=0)
    """An open thread quiet for this long becomes ``stale``."""
    business_hours: BusinessHoursSettings | None = None
    """For brands that give none; None: open around the clock."""
    targets: tuple[TargetSettings, ...] = Field(default_factory=default_targets)
    """For brands that give none."""
    sweep_interval_s: float = Field(default=60.0, ge=1, le=3600)
    """How often the worker looks for SLA warnings, breaches and stale threads."""

    @property
    def stale_after(self) -> timedelta:
        return timedelta(hours=self.stale_after_hours)


class BrandServiceSettings(BaseModel):
    """A brand's own business hours and targets (``brands[].service``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    business_hours: BusinessHoursSettings | None = None
    targets: tuple[TargetSettings, ...] | None = None


def sla_policy(threads: ThreadSettings, brands: dict[str, BrandServiceSettings]) -> SlaPolicy:
    default_calendar = (
        threads.business_hours.calendar() if threads.business_hours else BusinessCalendar.always()
    )
    return SlaPolicy(
        default_calendar=default_calendar,
        default_targets=tuple(t.target() for t in threads.targets),
        calendars={b: s.business_hours.calendar() for b, s in brands.items() if s.business_hours is not None},
        targets={b: tuple(t.target() for t in s.targets) for b, s in brands.items() if s.targets is not None},
        stale_after=threads.stale_after,
    )
