"""The crisis-room page (``flarewatch web``, and the page ``demo`` and ``up`` serve)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from streams.config.secrets import fill_from_files


class WebSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8088, ge=1, le=65535)
    token: SecretStr | None = None
    """Bearer token for the page's actions (acknowledge an incident, resolve a thread); without
    one the page is read-only."""
    token_file: Path | None = None
    """A mounted file holding the token (read once at start-up); not with token."""
    refresh_s: float = Field(default=15.0, ge=1, le=3600)
    """How often the page fetches its panels again."""

    @model_validator(mode="before")
    @classmethod
    def _secret_files(cls, data: Any) -> Any:
        return fill_from_files(data, ("token",))
