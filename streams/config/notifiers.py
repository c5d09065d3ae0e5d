"""Notifiers, routing rules and the delivery retry policy (the YAML's ``notify:`` section).

Secrets never live in the YAML: a notifier names where its secret is (``secret_env``: an environment
variable, or ``secret_file``: a file), and :func:`resolve_secret` reads it once at start-up. What the
secret is depends on the type: the webhook's signing secret (``whsec_...``), the Slack incoming-webhook
URL (itself a credential; ``url`` may name a non-secret test receiver instead), the PagerDuty routing
key, the SMTP password.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from streams.config.secrets import SecretError, read_secret_file
from streams.contracts.incidents import Severity

NotifierType = Literal["webhook", "slack", "pagerduty", "email"]

PAGERDUTY_URL = "https://events.pagerduty.com"

_SECRET_KEYS = frozenset(
    {"secret", "password", "token", "routing_key", "api_key", "key", "webhook_secret", "integration_key"}
)
_COMMON = frozenset({"name", "type", "secret_env", "secret_file", "timeout_s"})
_FIELDS: dict[str, frozenset[str]] = {
    "webhook": _COMMON | {"url"},
    "slack": _COMMON | {"url"},
    "pagerduty": _COMMON | {"url", "source"},
    "email": _COMMON | {"host", "port", "username", "from_addr", "to", "starttls", "ca_file", "verify"},
}


class NotifierConfigError(ValueError):
    """A notifier's secret cannot be read; the message names the notifier and where it looked."""


class NotifierSettings(BaseModel):
    """One notifier. Which fields apply, and which are required, depends on ``type``:

    - ``webhook``: ``url``; the signing secret (``whsec_`` + base64) in ``secret_env``/``secret_file``.
    - ``slack``: the incoming-webhook URL in ``secret_env``/``secret_file``, or ``url`` (test receivers).
    - ``pagerduty``: the routing key in ``secret_env``/``secret_file``; ``url`` (default
      ``https://events.pagerduty.com``; ``/v2/enqueue`` is appended), ``source``.
    - ``email``: ``host``, ``from_addr``, ``to``; ``port`` (587), ``starttls`` (true), ``username`` with
      the password in ``secret_env``/``secret_file``; ``ca_file`` to trust a private CA; ``verify:
      false`` turns certificate checks off (only for a local test server).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    type: NotifierType
    url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    host: str | None = None
    port: int = Field(default=587, ge=1, le=65535)
    username: str | None = None
    from_addr: str | None = None
    to: tuple[str, ...] = ()
    starttls: bool = True
    ca_file: Path | None = None
    verify: bool = True
    source: str = "flarewatch"
    """PagerDuty's ``payload.source``."""
    secret_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    secret_file: Path | None = None
    timeout_s: float = Field(default=10.0, gt=0, le=300)

    @model_validator(mode="before")
    @classmethod
    def _no_literal_secrets(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            literal = sorted(k for k in data if str(k).lower() in _SECRET_KEYS)
            if literal:
                raise ValueError(
                    f"{', '.join(literal)}: secrets do not belong in the configuration; name where the "
                    "secret lives with secret_env (an environment variable) or secret_file (a file)"
                )
        return data

    @model_validator(mode="after")
    def _fits_type(self) -> NotifierSettings:
        problems = [*self._foreign_fields(), *self._missing_fields()]
        if self.secret_env and self.secret_file:
            problems.append("give secret_env or secret_file, not both")
        if problems:
            raise ValueError(f"notifier {self.name!r} ({self.type}): " + "; ".join(problems))
        return self

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_env or self.secret_file)

    def _foreign_fields(self) -> list[str]:
        foreign = sorted(self.model_fields_set - _FIELDS[self.type])
        return [f"{', '.join(foreign)} do(es) not apply to a {self.type} notifier"] if foreign else []

    def _missing_fields(self) -> list[str]:
        missing: list[str] = []
        if self.type == "webhook":
            missing += [] if self.url else ["url is required"]
            missing += [] if self.has_secret else ["secret_env or secret_file (the whsec_ signing secret)"]
        elif self.type == "slack":
            if bool(self.url) == self.has_secret:
                missing.append("give exactly one of secret_env/secret_file (the webhook URL) or url")
        elif self.type == "pagerduty":
            missing += [] if self.has_secret else ["secret_env or secret_file (the routing key)"]
        else:
            missing += [f"{f} is required" for f in ("host", "from_addr") if not getattr(self, f)]
            missing += [] if self.to else ["to needs at least one address"]
            if bool(self.username) != self.has_secret:
                missing.append("username and secret_env/secret_file (the password) go together")
        return missing


class RouteSettings(BaseModel):
    """Which notifiers get an incident: of these brands (None: every brand), at this severity or
    higher. An incident matching several routes goes once to each notifier named."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    notifiers: tuple[str, ...] = Field(min_length=1)
    brands: tuple[str, ...] | None = None
    min_severity: Severity = "watch"


class RetrySettings(BaseModel):
    """How one delivery is retried: exponential backoff with jitter from ``initial_s`` up to
    ``max_s`` (a ``Retry-After`` is honoured, capped at ``max_s``), each attempt cut at
    ``attempt_timeout_s``; it fails for good after ``max_attempts`` or ``max_elapsed_s``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(default=30, ge=1, le=1000)
    initial_s: float = Field(default=1.0, gt=0)
    max_s: float = Field(default=60.0, gt=0)
    max_elapsed_s: float = Field(default=1800.0, gt=0)
    """Long enough to ride out a receiver's restart or a short outage: a late page beats none."""
    attempt_timeout_s: float = Field(default=10.0, gt=0)


class NotifySettings(BaseModel):
    """No routes: every notifier receives every incident."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    notifiers: tuple[NotifierSettings, ...] = ()
    routes: tuple[RouteSettings, ...] = ()
    retry: RetrySettings = Field(default_factory=RetrySettings)

    @model_validator(mode="after")
    def _consistent(self) -> NotifySettings:
        check_routes(self.notifiers, self.routes)
        return self


def check_routes(notifiers: tuple[NotifierSettings, ...], routes: tuple[RouteSettings, ...]) -> None:
    """Raises ValueError when notifier names repeat or a route names an unknown notifier."""
    names = [n.name for n in notifiers]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"notifier names must be unique: {', '.join(duplicates)}")
    unknown = sorted({r for route in routes for r in route.notifiers} - set(names))
    if unknown:
        raise ValueError(f"routes name unknown notifiers: {', '.join(unknown)}")


def resolve_secret(notifier: NotifierSettings, environ: Mapping[str, str] | None = None) -> str | None:
    """The notifier's secret, read now (call once at start-up); None when it names none.

    Raises :class:`NotifierConfigError` when the variable is unset or empty, or the file cannot be
    read, is not UTF-8 or is empty. The message never contains the secret."""
    env = os.environ if environ is None else environ
    if notifier.secret_env:
        value = env.get(notifier.secret_env, "").strip()
        if not value:
            raise NotifierConfigError(
                f"notifier {notifier.name!r}: environment variable {notifier.secret_env} is not set or empty"
            )
        return value
    if notifier.secret_file:
        try:
            return read_secret_file(notifier.secret_file, f"notifier {notifier.name!r}: secret_file")
        except SecretError as exc:
            raise NotifierConfigError(str(exc)) from None
    return None
