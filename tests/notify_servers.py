"""Local receivers for the notifiers, started by the tests themselves.

HTTP (:class:`WebhookReceiver`, :class:`SlackReceiver`, :class:`PagerDutyReceiver`): an aiohttp
app on 127.0.0.1 (a free port) that records every request and answers from a script, e.g.
``WebhookReceiver([500, 500, 500, 200])``, ``[HANG]`` (holds the request until the receiver stops),
``[Reply(429, headers={"Retry-After": "1"})]``; once the script is used up it answers ``default``.

SMTP (:class:`SmtpReceiver`): aiosmtpd with STARTTLS (a self-signed certificate for 127.0.0.1, made
with the ``openssl`` command; ``ca_file`` is the certificate to trust) and AUTH (LOGIN/PLAIN, only
after STARTTLS).

Every receiver runs either way:
- ``async with WebhookReceiver() as hook:`` on the test's own event loop;
- ``with WebhookReceiver() as hook:`` on a background thread with its own loop, for sync tests and
  for integration tests whose worker subprocess posts to ``hook.url``.
``received`` (a copy, thread-safe) lists what came in; ``wait_for(n, timeout_s)`` blocks until ``n``
have (threaded mode only: it blocks the calling thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from streams.contracts.incidents import (
    Incident,
    IncidentChange,
    IncidentEvent,
    IncidentState,
    Representative,
    Severity,
    event_type,
)


@dataclass(frozen=True, slots=True)
class Reply:
    status: int = 200
    body: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    """Wait this long before answering; ``math.inf``: until the receiver stops (see HANG)."""


HANG = Reply(503, "stopped", delay_s=math.inf)


@dataclass(frozen=True, slots=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    """Names in lower case."""
    body: bytes
    at: float
    """time.monotonic() when it came in."""

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)


T = TypeVar("T")


class _Recorder(Generic[T]):
    """A thread-safe list that ``wait_for`` can block on."""

    def __init__(self) -> None:
        self._items: list[T] = []
        self._changed = threading.Condition()

    def add(self, item: T) -> None:
        with self._changed:
            self._items.append(item)
            self._changed.notify_all()

    @property
    def received(self) -> list[T]:
        with self._changed:
            return list(self._items)

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[T]:
        """Blocks until ``count`` items came in; raises TimeoutError with what did."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._items) >= count, timeout_s):
                raise TimeoutError(f"{len(self._items)} of {count} received within {timeout_s}s")
            return list(self._items)


class _Background:
    """An event loop on a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="notify-receiver")
        self._thread.start()

    def run(self, coro: Any, timeout_s: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


class HttpReceiver(_Recorder[Received]):
    """Answers every path; ``url`` is the base URL plus :attr:`path` (what a notifier is given)."""

    path = "/"
    default_reply = Reply(200, "ok")

    def __init__(self, script: Iterable[Reply | int] = (), default: Reply | int | None = None) -> None:
        super().__init__()
        self._script = [self._reply(r) for r in script]
        self._default = self._reply(default) if default is not None else self.default_reply
        self._runner: web.AppRunner | None = None
        self._release: asyncio.Event | None = None
        self._background: _Background | None = None
        self.base_url = ""
        self._answered: list[tuple[Received, int]] = []

    @property
    def answered(self) -> list[tuple[Received, int]]:
        """Requests that got an answer, with its status (a request still held, or whose client
        went away first, is not here)."""
        with self._changed:
            return list(self._answered)

    def delivered_ids(self) -> list[str]:
        """``webhook-id`` of every request answered 2xx, in order (repeats included)."""
        return [r.headers.get("webhook-id", "") for r, status in self.answered if 200 <= status < 300]

    def answer(self, default: Reply | int) -> None:
        """From now on, answer ``default`` once the script is used up (thread-safe)."""
        with self._changed:
            self._default = self._reply(default)

    @property
    def url(self) -> str:
        return self.base_url + self.path

    def script(self, *replies: Reply | int) -> None:
        """Queue more replies (thread-safe)."""
        with self._changed:
            self._script.extend(self._reply(r) for r in replies)

    async def start(self) -> None:
        self._release = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._release is not None:
            self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    def __enter__(self) -> Self:
        self._background = _Background()
        self._background.run(self.start())
        return self

    def __exit__(self, *_: object) -> None:
        if self._background is not None:
            self._background.run(self.stop())
            self._background.close()
            self._background = None

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        received = Received(request.method, request.path, headers, body, time.monotonic())
        self.add(received)
        with self._changed:
            reply = self._script.pop(0) if self._script else self._default
        if reply.delay_s > 0 and self._release is not None:
            timeout = None if math.isinf(reply.delay_s) else reply.delay_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), timeout)
        if request.transport is None or request.transport.is_closing():
            return web.Response(status=499)  # the client went away: nobody got this answer
        with self._changed:
            self._answered.append((received, reply.status))
        return web.Response(status=reply.status, text=reply.body, headers=dict(reply.headers))

    @staticmethod
    def _reply(reply: Reply | int) -> Reply:
        return reply if isinstance(reply, Reply) else Reply(reply, "ok" if reply < 300 else f"status {reply}")


class WebhookReceiver(HttpReceiver):
    path = "/hooks/flarewatch"


class SlackReceiver(HttpReceiver):
    path = "/services/T000/B000/XXXXXXXX"
    default_reply = Reply(200, "ok")


class PagerDutyReceiver(HttpReceiver):
    """``url`` is the API root (the notifier posts to ``url + '/v2/enqueue'``)."""

    path = ""
    default_reply = Reply(
        202,
        '{"status":"success","message":"Event processed"}',
        {"Content-Type": "application/json"},
    )


# --- SMTP ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mail:
    sender: str
    recipients: tuple[str, ...]
    data: bytes
    login: str | None
    """Who authenticated; None: nobody."""
    tls: bool
    """Whether STARTTLS was on when the message came."""

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


_CERT_LOCK = threading.Lock()
_CERT: tuple[Path, Path] | None = None


def self_signed_cert() -> tuple[Path, Path]:
    """(certificate, key) for CN=localhost with IP 127.0.0.1, made once per process."""
    global _CERT
    with _CERT_LOCK:
        if _CERT is None:
            openssl = shutil.which("openssl")
            if openssl is None:
                raise RuntimeError("the SMTP test server needs the openssl command")
            folder = Path(tempfile.mkdtemp(prefix="flarewatch-smtp-"))
            cert, key = folder / "cert.pem", folder / "key.pem"
            subprocess.run(
                [
                    openssl,
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-keyout",
                    str(key),
                    "-out",
                    str(cert),
                    "-days",
                    "2",
                    "-subj",
                    "/CN=localhost",
                    "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost",
                ],
                check=True,
                capture_output=True,
            )
            _CERT = (cert, key)
        return _CERT


class _FreePortController(Controller):
    """aiosmtpd's Controller on port 0: learns the port the system chose before its self-check."""

    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class SmtpReceiver(_Recorder[Mail]):
    """An SMTP server requiring STARTTLS and AUTH (``username``/``password``). ``script``: replies
    to DATA before accepting, e.g. ``["451 4.3.0 try again later"]``."""

    host = "127.0.0.1"

    def __init__(
        self,
        username: str = "pager",
        password: str = "s3cret-pw",
        script: Iterable[str] = (),
        require_starttls: bool = True,
    ) -> None:
        super().__init__()
        self.username, self.password = username, password
        self.ca_file, key = self_signed_cert()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.ca_file, key)
        self._script = list(script)
        self._controller = _FreePortController(
            self,
            hostname=self.host,
            port=0,
            tls_context=context,
            require_starttls=require_starttls,
            auth_required=True,
            auth_require_tls=True,
            authenticator=self._authenticate,
        )

    @property
    def port(self) -> int:
        return int(self._controller.port)

    def __enter__(self) -> Self:
        self._controller.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._controller.stop()

    async def __aenter__(self) -> Self:
        await asyncio.to_thread(self._controller.start)
        return self

    async def __aexit__(self, *_: object) -> None:
        await asyncio.to_thread(self._controller.stop)

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode(),
            auth_data.password.decode(),
        ) == (self.username, self.password)
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._changed:
            scripted = self._script.pop(0) if self._script else None
        if scripted is not None:
            return scripted
        login = session.login_data
        self.add(
            Mail(
                sender=str(envelope.mail_from),
                recipients=tuple(envelope.rcpt_tos),
                data=bytes(envelope.original_content or b""),
                login=login.decode() if isinstance(login, bytes) else login,
                tls=session.ssl is not None,
            )
        )
        return "250 OK"


# --- records ------------------------------------------------------------------------------------

WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
"""A valid Standard Webhooks secret for tests (base64 of 24 bytes)."""


def incident_event(
    state: IncidentState = IncidentState.TRIGGERED,
    version: int = 1,
    severity: Severity = "critical",
    brand: str = "acme",
    category: str | None = "payments",
    page: bool = True,
    **changes: Any,
) -> IncidentEvent:
    """An incident version as the incidents step would publish it."""
    started = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    at = started + timedelta(minutes=5 * version)
    incident_id = f"{brand}:{category or 'all'}:{started:%Y%m%dT%H%MZ}"
    incident = Incident(
        incident_id=incident_id,
        version=version,
        brand=brand,
        category=category,
        categories={category: 40} if category else {},
        measure="complaints",
        state=state,
        severity=severity,
        started_at=started,
        updated_at=at,
        resolved_at=at if state is IncidentState.RESOLVED else None,
        bucket_seconds=300,
        observed=42.0,
        expected=4.0,
        peak=57.0,
        peak_expected=4.5,
        peak_at=started + timedelta(minutes=5),
        total=180,
        score=9.5,
        languages={"pl": 150, "en": 30},
        top_terms=("blik", "nie działa", "płatność"),
        representatives=(
            Representative(mention_id="x:1", text="BLIK nie działa <znowu> & nie mogę zapłacić", why="reach"),
            Representative(mention_id="x:2", text="Checkout fails with BLIK every time", why="negative"),
            Representative(mention_id="x:3", text="third one", why="negative"),
        ),
        history=tuple(
            IncidentChange(
                version=v,
                state=IncidentState.TRIGGERED if v == 1 else state,
                severity=severity,
                at=started + timedelta(minutes=5 * v),
            )
            for v in range(1, version + 1)
        ),
        search_command=f"flarewatch search --brand {brand} --category {category} --since 2024-05-01T12:00Z",
        kibana_url="http://127.0.0.1:5601/app/discover#/?q=acme",
        **changes,
    )
    return IncidentEvent(
        event_id=f"{incident_id}:v{version}",
        type=event_type(state),
        incident=incident,
        page=page,
        emitted_at=datetime.now(UTC),
    )
