"""The README's webhook receiver example, run as written against Flarewatch's own webhook notifier:
a signed delivery is accepted once (a retry with the same id is not handled again), a tampered one
is refused."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from http.server import HTTPServer
from pathlib import Path
from typing import Any

import pytest

from streams.notify.notifier import Rejected
from streams.notify.webhook import WebhookNotifier
from tests.notify_servers import WEBHOOK_SECRET, incident_event

README = Path(__file__).resolve().parents[2] / "README.md"


def example() -> str:
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- receiver-example -->\n```python\n(.*?)```", text, re.S)
    assert found, "README lost its receiver example"
    return found.group(1)


@pytest.fixture()
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, dict[str, Any]]]:
    monkeypatch.setenv("FLAREWATCH_WEBHOOK_SECRET", WEBHOOK_SECRET)
    scope: dict[str, Any] = {"__name__": "readme_receiver"}
    exec(compile(example(), "README.md", "exec"), scope)
    server = HTTPServer(("127.0.0.1", 0), scope["Receiver"])
    server.RequestHandlerClass.log_message = lambda *args: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/", scope
    finally:
        server.shutdown()
        server.server_close()


def test_the_readme_receiver_verifies_what_the_webhook_notifier_sends(
    receiver: tuple[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, scope = receiver
    event = incident_event()
    notifier = WebhookNotifier("hook", url, WEBHOOK_SECRET)
    asyncio.run(notifier.send(event))
    asyncio.run(notifier.send(event))  # a retry: same webhook-id
    assert scope["seen"] == {event.event_id}
    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        f"{event.type} {event.incident.incident_id} {event.incident.brand} "
        f"{event.incident.category} {event.incident.severity}"
    ]

    forged = WebhookNotifier("hook", url, "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=")
    with pytest.raises(Rejected, match="401"):
        asyncio.run(forged.send(incident_event(version=2)))
    assert scope["seen"] == {event.event_id}
