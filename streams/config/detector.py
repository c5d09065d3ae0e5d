"""The spike detector's windows and thresholds."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DetectorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    window_minutes: int = Field(default=60, ge=1, le=24 * 60)
    baseline_windows: int = Field(default=24, ge=1, le=24 * 14)
    min_history: int = Field(default=24, ge=1)
    z: float = Field(default=3.5, gt=0)
    min_count: int = Field(default=8, ge=1)
    min_ratio: float = Field(default=2.0, ge=1)
