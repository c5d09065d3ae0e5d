"""The embedded servers start, answer, and leave no process behind when stopped."""

from __future__ import annotations

import os
from pathlib import Path

from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient

from streams.devstack.embedded import EmbeddedServers


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
