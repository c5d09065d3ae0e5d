"""Collectors: the platforms' API endpoints, where their app secrets are read from, how often to
poll, and what to do with noise. Brand-specific sources (page ids, tokens, feeds) are under each
brand."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FacebookCollector(_Section):
    api_url: str = Field(default="https://graph.facebook.com/v23.0", pattern=r"^https?://")
    """Graph API base URL with its version; a test points it at a local server."""
    app_secret_env: str | None = Field(default=None, pattern=ENV_NAME)
    """The app secret that signs webhook deliveries (``X-Hub-Signature-256``), from this
    environment variable..."""
    app_secret_file: Path | None = None
    """...or from this mounted file."""
    verify_token_env: str | None = Field(default=None, pattern=ENV_NAME)
    """The token Meta echoes in the webhook subscription's GET challenge."""
    verify_token_file: Path | None = None
    page_size: int = Field(default=100, ge=1, le=100)
    """Items asked for per request (``limit``)."""
    lookback_hours: float = Field(default=72.0, gt=0, le=24 * 90)
    """On a source's first poll, how far back to read; also how long an older post's comments
    keep being read (``filter=stream`` since its newest activity)."""
    usage_slowdown_percent: float = Field(default=75.0, gt=0, le=100)
    """Above this share of any ``X-*-Usage`` quota, polls slow down; at 100 they wait for the
    reported reset."""
    webhook_host: str = "0.0.0.0"
    webhook_port: int = Field(default=8443, ge=0, le=65535)
    webhook_path: str = Field(default="/webhooks/facebook", pattern=r"^/")


class XCollector(_Section):
    api_url: str = Field(default="https://api.x.com/2", pattern=r"^https?://")
    bearer_token_env: str | None = Field(default="X_BEARER_TOKEN", pattern=ENV_NAME)
    bearer_token_file: Path | None = None
    """When given, the bearer token is read from this mounted file instead."""
    max_results: int = Field(default=100, ge=10, le=100)


class NoiseSettings(_Section):
    spam: Literal["drop", "flag", "keep"] = "flag"
    """Promotional link spam, giveaways and the brand's own ads: dropped (counted), kept with a
    flag, or not looked for."""
    duplicates: Literal["drop", "flag", "keep"] = "flag"
    """Copies of an earlier mention (reposts, copy-paste campaigns)."""
    duplicate_window_hours: float = Field(default=72.0, gt=0)
    """How long a mention is remembered for near-duplicate detection."""


class CollectorSettings(_Section):
    facebook: FacebookCollector = Field(default_factory=FacebookCollector)
    x: XCollector = Field(default_factory=XCollector)
    poll_interval_s: float = Field(default=60.0, ge=1.0, le=86_400.0)
    """Seconds between polls of one source."""
    http_timeout_s: float = Field(default=30.0, gt=0, le=600)
    noise: NoiseSettings = Field(default_factory=NoiseSettings)
    state_dir: Path | None = None
    """Where checkpoints are kept; default: ``collectors/`` in the data folder."""
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    """Serve ``/metrics`` on this port while collecting; None: not served."""
