"""``flarewatch incidents``: list, show and ack, against an in-memory search client."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from click.testing import CliRunner

import streams.cli.incidents as cli
from streams.cli.context import AppContext
from streams.config.kafka import KafkaSettings
from streams.config.settings import Settings
from streams.contracts.incidents import Incident, IncidentCommand, IncidentState
from streams.search.documents import incident_document
from tests.unit.test_search_incidents import incident


@dataclass
class Answer:
    body: dict[str, Any]


@dataclass
class SyncClient:
    docs: dict[str, Incident] = field(default_factory=dict)
    searches: list[dict[str, Any]] = field(default_factory=list)

    def options(self, **_: Any) -> SyncClient:
        return self

    def search(self, **kwargs: Any) -> Answer:
        self.searches.append(kwargs)
        hits = [{"_source": incident_document(i)} for i in self.docs.values()]
        return Answer({"hits": {"hits": hits}})

    def get(self, *, index: str, id: str) -> Answer:
        found = self.docs.get(id)
        return Answer({"found": found is not None, "_source": found and incident_document(found)})

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *_: object) -> None:
        pass


@pytest.fixture()
def client(monkeypatch: pytest.MonkeyPatch) -> SyncClient:
    fake = SyncClient({incident().incident_id: incident()})

    @contextlib.contextmanager
    def connect(settings: Settings, data_dir: Any) -> Iterator[tuple[SyncClient, Settings]]:
        yield fake, settings

    monkeypatch.setattr(cli, "connect", connect)
    monkeypatch.setattr(cli, "sync_client", lambda _: fake)
    return fake


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli.incidents, list(args), obj=AppContext(), catch_exceptions=False)


def test_the_list_is_a_table_or_json(client: SyncClient) -> None:
    result = invoke("--brand", "zakupowo", "--open")
    assert result.exit_code == 0
    header, row = result.output.splitlines()
    assert header.split()[:5] == ["id", "brand", "category", "severity", "state"]
    assert row.split()[:5] == [
        "zakupowo:payment:20261119T1200Z",
        "zakupowo",
        "payment",
        "critical",
        "updated",
    ]
    assert "90/4.0" in row and row.endswith("blik, nie działa")
    assert client.searches[0]["query"]["bool"]["must_not"] == [
        {"term": {"flarewatch.incident.state": "resolved"}}
    ]
    lines = invoke("--json").output.splitlines()
    assert Incident.model_validate(json.loads(lines[0])) == incident()
    client.docs.clear()
    assert invoke("--open").output == "no open incidents\n"


def test_show_describes_one_incident(client: SyncClient) -> None:
    result = invoke("show", incident().incident_id)
    assert result.exit_code == 0
    assert "brand zakupowo, payment (complaints)" in result.output
    assert "top terms: blik, nie działa" in result.output
    assert "v2 2026-11-19 12:10 updated critical: escalated" in result.output
    missing = invoke("show", "zakupowo:all:20261119T1300Z")
    assert missing.exit_code == 1 and "no incident zakupowo:all:20261119T1300Z" in missing.output


def test_ack_sends_the_command_and_waits_for_the_worker(
    client: SyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[IncidentCommand] = []

    def send(kafka: KafkaSettings, command: IncidentCommand) -> None:
        sent.append(command)  # the worker applies it at once
        client.docs[command.incident_id] = incident(
            state=IncidentState.ACKNOWLEDGED,
            acknowledged_at=command.at,
            acknowledged_by=command.by,
            version=3,
        )

    monkeypatch.setattr(cli, "send_command", send)
    result = invoke("ack", incident().incident_id, "--by", "ola")
    assert result.exit_code == 0 and "acknowledged by ola (version 3)" in result.output
    assert [(c.incident_id, c.brand, c.by) for c in sent] == [(incident().incident_id, "zakupowo", "ola")]
    again = invoke("ack", incident().incident_id)
    assert again.exit_code == 0 and "already acknowledged by ola" in again.output


def test_ack_refuses_unknown_and_resolved_incidents_and_times_out(
    client: SyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "send_command", lambda kafka, command: None)
    unknown = invoke("ack", "zakupowo:all:20261119T1300Z")
    assert unknown.exit_code == 1 and "no incident" in unknown.output
    late = invoke("ack", incident().incident_id, "--timeout", "0")
    assert late.exit_code == 1 and "did not show it within 0s" in late.output
    client.docs[incident().incident_id] = incident(state=IncidentState.RESOLVED)
    resolved = invoke("ack", incident().incident_id)
    assert resolved.exit_code == 1 and "is resolved" in resolved.output
