"""E-mail over SMTP with ``aiosmtplib``: STARTTLS by default, login with ``username`` and the password
from the secret. A plain-text body with a simple HTML alternative.

SMTP answers map as HTTP's do: 4xx, refused or dropped connections and timeouts are
:class:`Retryable`; 5xx (a refused login, refused recipients), certificate failures and a server
that does not offer what the settings ask for (STARTTLS, AUTH) are :class:`Rejected`."""

from __future__ import annotations

import html
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

from streams.contracts.incidents import IncidentEvent
from streams.contracts.sla import Alert, SlaEvent
from streams.notify import sla_render
from streams.notify.notifier import Rejected, Retryable, SendResult
from streams.notify.render import details, problem, samples, summary


def text_body(event: IncidentEvent) -> str:
    i = event.incident
    lines = [summary(event), ""]
    lines += [f"{key}: {value}" for key, value in details(i).items() if value not in (None, "", [], {})]
    quoted = samples(i)
    if quoted:
        lines += ["", "Sample mentions:", *(f"  > {t}" for t in quoted)]
    return "\n".join(lines) + "\n"


def html_body(event: IncidentEvent) -> str:
    i = event.incident
    rows = "".join(
        f"<tr><th align='left'>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in details(i).items()
        if v not in (None, "", [], {})
    )
    quotes = "".join(f"<blockquote>{html.escape(t)}</blockquote>" for t in samples(i))
    link = f"<p><a href='{html.escape(i.kibana_url)}'>Mentions in Kibana</a></p>" if i.kibana_url else ""
    return (
        f"<html><body><h2>{html.escape(i.brand)}: {html.escape(problem(i))} — "
        f"{html.escape(i.severity.upper())} ({html.escape(i.state.value)})</h2>"
        f"<p>{html.escape(summary(event))}</p><table>{rows}</table>{quotes}{link}</body></html>"
    )


def message(event: Alert, from_addr: str, to: tuple[str, ...]) -> EmailMessage:
    msg = EmailMessage()
    if isinstance(event, SlaEvent):
        text = sla_render.summary(event)
        rows = [f"{k}: {v}" for k, v in sla_render.details(event).items() if v not in (None, "")]
        plain, rich = (
            "\n".join([text, "", *rows]) + "\n",
            f"<html><body><p>{html.escape(text)}</p></body></html>",
        )
    else:
        text, plain, rich = summary(event), text_body(event), html_body(event)
    msg["Subject"] = text[:200]
    msg["From"] = from_addr
    msg["To"] = ", ".join(to)
    msg["Message-ID"] = f"<{event.event_id.replace(':', '.')}@flarewatch>"
    msg.set_content(plain)
    msg.add_alternative(rich, subtype="html")
    return msg


def tls_context(ca_file: Path | None, verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


@dataclass(frozen=True, slots=True)
class EmailNotifier:
    name: str
    host: str
    from_addr: str
    to: tuple[str, ...]
    port: int = 587
    username: str | None = None
    password: str | None = None
    starttls: bool = True
    ca_file: Path | None = None
    verify: bool = True
    timeout_s: float = 10.0
    type: str = "email"

    async def send(self, event: Alert) -> SendResult:
        try:
            _, reply = await aiosmtplib.send(
                message(event, self.from_addr, self.to),
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                start_tls=self.starttls,
                tls_context=tls_context(self.ca_file, self.verify) if self.starttls else None,
                timeout=self.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise Rejected(f"recipients refused: {exc}") from None
        except aiosmtplib.SMTPResponseException as exc:
            error = Retryable if 400 <= exc.code < 500 else Rejected
            raise error(f"SMTP {exc.code}: {exc.message}", status=exc.code) from None
        except ssl.SSLError as exc:
            raise Rejected(f"TLS: {exc}") from None
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as exc:
            raise Retryable(f"{type(exc).__name__}: {exc}") from None
        except aiosmtplib.SMTPException as exc:  # e.g. no AUTH offered: a configuration problem
            raise Rejected(f"{type(exc).__name__}: {exc}") from None
        return SendResult(250, reply[:200])
