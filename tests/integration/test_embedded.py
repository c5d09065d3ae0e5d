"""The embedded servers start, answer, and leave no process behind when stopped; a taken port
is refused before anything starts."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import psutil
import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient

from streams.devstack.embedded import EmbeddedError, EmbeddedServers, free_port

pytestmark = pytest.mark.integration


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_stop_leaves_no_server_process_and_keeps_search_data(tmp_path: Path) -> None:
    servers = EmbeddedServers(tmp_path).start()
    groups = [child.process.pid for child in servers.children]
    try:
        assert [c.name for c in servers.children] == ["broker", "search"]
        broker, search = servers.children
        assert broker.listening_on(servers.kafka_port) and not search.listening_on(servers.kafka_port)
        assert search.listening_on(servers.search_port)
        for child in servers.children:  # the servers themselves: no wrapper with a child of its own
            assert psutil.Process(child.process.pid).children() == [], child.name
        admin = KafkaAdminClient(bootstrap_servers=servers.bootstrap)
        assert admin.describe_cluster()["brokers"]
        admin.close()
        es = Elasticsearch(servers.search_url)
        es.index(index="kept", id="1", document={"message": "still here"}, refresh=True)
        es.close()
        assert all(_group_alive(g) for g in groups)
    finally:
        servers.stop()
    assert not any(_group_alive(g) for g in groups), "a server process outlived stop()"

    again = EmbeddedServers(tmp_path).start_search_only()
    try:
        es = Elasticsearch(again.search_url)
        assert es.get(index="kept", id="1")["_source"]["message"] == "still here"
        es.close()
    finally:
        again.stop()


@pytest.mark.parametrize("which", ["kafka_port", "search_port"])
def test_a_taken_port_is_refused_before_anything_starts(tmp_path: Path, which: str) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        ports = {"kafka_port": free_port(), "search_port": free_port(), which: port}
        servers = EmbeddedServers(tmp_path, **ports)
        with pytest.raises(EmbeddedError, match=f"port {port} for .* is already in use"):
            servers.start()
    assert servers.children == []
    assert not (tmp_path / "logs").exists(), "a server was started"
