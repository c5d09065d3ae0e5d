"""The e-mail notifier against a local aiosmtpd server with STARTTLS and AUTH."""

from __future__ import annotations

import asyncio
import time

import pytest

from streams.config.notifiers import NotifierSettings
from streams.notify.email import EmailNotifier
from streams.notify.factory import build_notifier
from streams.notify.notifier import Rejected, Retryable
from tests.notify_servers import SmtpReceiver, incident_event


def test_starttls_with_credentials_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FW_TEST_SMTP_PASSWORD", "s3cret-pw")
    with SmtpReceiver() as smtp:
        settings = NotifierSettings(
            name="oncall-mail",
            type="email",
            host=smtp.host,
            port=smtp.port,
            username="pager",
            from_addr="flarewatch@example.com",
            to=("oncall@example.com", "lead@example.com"),
            ca_file=smtp.ca_file,
            secret_env="FW_TEST_SMTP_PASSWORD",
        )
        result = asyncio.run(build_notifier(settings).send(incident_event()))
        (mail,) = smtp.wait_for(1, timeout_s=5)
    assert result.status == 250
    assert (mail.tls, mail.login, mail.sender) == (True, "pager", "flarewatch@example.com")
    assert mail.recipients == ("oncall@example.com", "lead@example.com")
    message = mail.message
    assert message["Subject"].startswith("[CRITICAL] acme: payments — triggered")
    assert message["Message-ID"] == "<acme.payments.20240501T1200Z.v1@flarewatch>"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    assert "observed: 42.0" in plain.get_content()
    assert "BLIK nie działa" in plain.get_content()
    assert "&lt;znowu&gt;" in html.get_content()


def notifier(smtp: SmtpReceiver, password: str = "s3cret-pw", **changes: object) -> EmailNotifier:
    options: dict[str, object] = {
        "port": smtp.port,
        "username": "pager",
        "password": password,
        "ca_file": smtp.ca_file,
        "timeout_s": 5.0,
    } | changes
    return EmailNotifier("mail", smtp.host, "fw@example.com", ("oncall@example.com",), **options)  # type: ignore[arg-type]


def test_a_wrong_password_is_rejected_for_good() -> None:
    with SmtpReceiver() as smtp, pytest.raises(Rejected, match="SMTP 535") as caught:
        asyncio.run(notifier(smtp, password="wrong").send(incident_event()))
    assert caught.value.status == 535


def test_a_temporary_smtp_failure_is_retryable() -> None:
    with SmtpReceiver(script=["451 4.3.0 try again later"]) as smtp:
        with pytest.raises(Retryable, match="451"):
            asyncio.run(notifier(smtp).send(incident_event()))
        asyncio.run(notifier(smtp).send(incident_event()))
        assert len(smtp.wait_for(1, timeout_s=5)) == 1


def test_an_untrusted_certificate_is_refused_unless_verification_is_off() -> None:
    with SmtpReceiver() as smtp:
        with pytest.raises(Rejected, match="CERTIFICATE_VERIFY_FAILED"):
            asyncio.run(notifier(smtp, ca_file=None).send(incident_event()))
        asyncio.run(notifier(smtp, ca_file=None, verify=False).send(incident_event()))
        assert len(smtp.wait_for(1, timeout_s=5)) == 1


def test_nobody_listening_is_retryable() -> None:
    with SmtpReceiver() as smtp:
        port = smtp.port
    started = time.monotonic()
    with pytest.raises(Retryable):
        asyncio.run(EmailNotifier("mail", "127.0.0.1", "a@b.c", ("d@e.f",), port=port).send(incident_event()))
    assert time.monotonic() - started < 2


def test_a_server_that_requires_starttls_refuses_a_plain_login() -> None:
    with SmtpReceiver() as smtp, pytest.raises(Rejected, match="AUTH"):
        asyncio.run(notifier(smtp, starttls=False).send(incident_event()))
