"""Slack incoming webhooks (``slack_sdk``'s ``AsyncWebhookClient``) with a Block Kit message: the
brand, the problem, severity and state in the header; the counts against the baseline; two sample
mentions; the search command and the Kibana link. ``text`` is the one-line fallback for
notifications. The client's own retries are off: the Deliverer retries.

The webhook URL is a credential: it comes from the secret, and the client's logger is kept above
DEBUG so that the URL is never logged."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.webhook.async_client import AsyncWebhookClient

from streams.contracts.incidents import IncidentEvent
from streams.contracts.sla import Alert, SlaEvent
from streams.notify import sla_render
from streams.notify.notifier import Retryable, SendResult, check_http
from streams.notify.render import counts, problem, samples, summary

_quiet = logging.getLogger("streams.notify.slack.client")
_quiet.setLevel(logging.INFO)

_ICON = {"watch": ":large_yellow_circle:", "warning": ":large_orange_circle:", "critical": ":red_circle:"}
_TEXT_LIMIT = 2900


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _section(markdown: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": markdown[:_TEXT_LIMIT]}}


def blocks(event: IncidentEvent) -> list[dict[str, Any]]:
    i = event.incident
    icon = ":white_check_mark:" if i.state.value == "resolved" else _ICON[i.severity]
    header = f"{i.brand}: {problem(i)} — {i.severity.upper()} ({i.state.value})"
    out: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header[:150], "emoji": True}},
        _section(
            f"{icon} *Counts against the baseline*\n{_escape(counts(i))}\n"
            f"{i.total} mentions since {i.started_at:%Y-%m-%d %H:%M}Z"
        ),
    ]
    if i.top_terms:
        out.append(_section("*Top terms*: " + _escape(", ".join(i.top_terms[:8]))))
    quoted = [f">{_escape(t)}" for t in samples(i)]
    if quoted:
        out.append(_section("*Sample mentions*\n" + "\n".join(quoted)))
    if i.search_command:
        out.append(_section(f"*Search*\n```{i.search_command}```"))
    if i.kibana_url:
        out.append(_section(f"<{i.kibana_url}|Open the mentions in Kibana>"))
    out.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"incident `{i.incident_id}` · version {i.version}"}],
        }
    )
    return out


def sla_blocks(event: SlaEvent) -> list[dict[str, Any]]:
    icon = ":red_circle:" if event.type == "sla.breach" else ":large_orange_circle:"
    out = [_section(f"{icon} {_escape(sla_render.summary(event))}")]
    if event.opening:
        out.append(_section(f">{_escape(event.opening)}"))
    return out


@dataclass(frozen=True, slots=True)
class SlackNotifier:
    name: str
    url: str
    timeout_s: float = 10.0
    type: str = "slack"

    async def send(self, event: Alert) -> SendResult:
        client = AsyncWebhookClient(
            self.url, timeout=math.ceil(self.timeout_s), retry_handlers=[], logger=_quiet
        )
        try:
            if isinstance(event, SlaEvent):
                text, parts = sla_render.summary(event), sla_blocks(event)
            else:
                text, parts = summary(event), blocks(event)
            response = await client.send(text=text, blocks=parts)
        except TimeoutError:
            raise Retryable(f"no answer within {self.timeout_s:g}s") from None
        except aiohttp.ClientError as exc:
            raise Retryable(f"{type(exc).__name__}: {exc}") from None
        return check_http(response.status_code, response.headers, response.body or "")
