"""The crisis-room page (``flarewatch web``, and the page ``demo`` and ``up`` serve)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class WebSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8088, ge=1, le=65535)
    token: SecretStr | None = None
    """Bearer token for the page's actions (acknowledge an incident, resolve a thread); without
    one the page is read-only."""
    refresh_s: float = Field(default=15.0, ge=1, le=3600)
    """How often the page fetches its panels again."""
