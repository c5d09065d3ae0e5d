"""Notifiers from settings; the one place that reads their secrets (once, at start-up)."""

from __future__ import annotations

from collections.abc import Mapping

from streams.config.notifiers import (
    PAGERDUTY_URL,
    NotifierConfigError,
    NotifierSettings,
    NotifySettings,
    resolve_secret,
)
from streams.notify.email import EmailNotifier
from streams.notify.notifier import Notifier
from streams.notify.pagerduty import PagerDutyNotifier
from streams.notify.slack import SlackNotifier
from streams.notify.webhook import WebhookNotifier


def build_notifier(settings: NotifierSettings, environ: Mapping[str, str] | None = None) -> Notifier:
    """Raises :class:`NotifierConfigError` when the secret is missing or malformed."""
    secret = resolve_secret(settings, environ)
    s = settings
    if s.type == "webhook":
        assert s.url and secret
        try:
            return WebhookNotifier(s.name, s.url, secret, s.timeout_s)
        except ValueError as exc:
            raise NotifierConfigError(f"notifier {s.name!r}: {exc}") from None
    if s.type == "slack":
        url = secret or s.url
        assert url
        return SlackNotifier(s.name, url, s.timeout_s)
    if s.type == "pagerduty":
        assert secret
        return PagerDutyNotifier(s.name, secret, s.url or PAGERDUTY_URL, s.source, s.timeout_s)
    assert s.host and s.from_addr
    return EmailNotifier(
        s.name,
        s.host,
        s.from_addr,
        s.to,
        s.port,
        s.username,
        secret,
        s.starttls,
        s.ca_file,
        s.verify,
        s.timeout_s,
    )


def build_notifiers(settings: NotifySettings, environ: Mapping[str, str] | None = None) -> list[Notifier]:
    """Every configured notifier, in order; all secrets read now, every problem in one error."""
    built: list[Notifier] = []
    problems: list[str] = []
    for n in settings.notifiers:
        try:
            built.append(build_notifier(n, environ))
        except NotifierConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise NotifierConfigError("\n".join(problems))
    return built
