"""Monitored brands and the terms that count as a mention of each."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class BrandSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    """The id mentions carry in their ``brand`` field."""
    display_name: str | None = None
    terms: tuple[str, ...] = Field(min_length=1)
    """Words, handles and hashtags that count as a mention of the brand."""

    @field_validator("terms")
    @classmethod
    def _terms(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not t.strip() for t in value):
            raise ValueError("terms must not be empty strings")
        return value
